package io.gradflow.ps;

import io.gradflow.common.model.Network;
import io.gradflow.common.nn.Gradients;
import io.gradflow.common.train.Evaluator;
import io.gradflow.common.train.JobInfo;
import io.gradflow.common.train.TrainingListener;

/**
 * A listener whose calls never overlap: the coordinator tells it of steps under its lock while its
 * background thread tells it of evaluated epochs, and a {@link TrainingListener} is called from one
 * thread at a time. Calls keep the order in which they take this object's monitor; the background
 * thread takes no other lock while it holds this one, so the two cannot deadlock.
 */
final class SerializedListener implements TrainingListener {
  private final TrainingListener target;

  SerializedListener(TrainingListener target) {
    this.target = target;
  }

  @Override
  public synchronized void onStart(JobInfo job) {
    target.onStart(job);
  }

  @Override
  public synchronized void rehearseStart(JobInfo job) {
    target.rehearseStart(job);
  }

  @Override
  public synchronized boolean readsGradient(long step) {
    return target.readsGradient(step);
  }

  @Override
  public synchronized void onStep(long step, int epoch, double loss, float learningRate, Gradients gradient) {
    target.onStep(step, epoch, loss, learningRate, gradient);
  }

  @Override
  public synchronized void onEpoch(int epoch, long step, Evaluator.Result test, double trainLoss) {
    target.onEpoch(epoch, step, test, trainLoss);
  }

  @Override
  public synchronized void onEvent(String message) {
    target.onEvent(message);
  }

  @Override
  public synchronized void onFinish(Network net, long steps, Evaluator.Result test, double trainLoss) {
    target.onFinish(net, steps, test, trainLoss);
  }
}
