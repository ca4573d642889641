package io.gradflow.ps;

/** Receives the answer to a pull, once there is one (called with the coordinator's lock held). */
public interface PullAnswer {
  void answer(Pull pull);

  void fail(JobRefusal refusal);
}
