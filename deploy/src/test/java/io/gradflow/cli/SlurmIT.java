package io.gradflow.cli;

import static io.gradflow.cli.ClusterTesting.SMALL_JOB;
import static io.gradflow.cli.ClusterTesting.executable;
import static io.gradflow.cli.ClusterTesting.gradflow;
import static io.gradflow.cli.ClusterTesting.tails;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.gradflow.common.report.RunSummary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real one-node Slurm cluster on localhost (munged, slurmctld, slurmd from Debian's slurm-wlm and
 * munge, as root, configuration and state in a temporary directory): {@code gradflow submit
 * --slurm} writes and submits the job script, the job runs two sharded servers (--servers 2: the
 * first two tasks) and two workers through srun and writes its summary in the job's directory;
 * requeued, the job runs again in the same directory, the coordinator resuming from its checkpoint
 * (the follower takes no --resume: the coordinator seeds it). A worker killed mid-job does not end the job: its task starts it again (two servers),
 * or, with no restart left, the other worker finishes (one server); the weights are the single
 * process's either way.
 */
class SlurmIT {
  private static final String[] PROGRAMS = {
    "/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch", "/usr/bin/scontrol", "/usr/bin/sinfo"
  };

  private static Path dir;
  private static Path conf;
  private static Map<String, String> env;
  private static final List<Process> daemons = new ArrayList<>();
  private static Path mungeLog;
  private static Path ctldLog;
  private static Path slurmdLog;
  private static String singleProcess;

  @BeforeAll
  static void startCluster() throws Exception {
    for (String p : PROGRAMS) {
      Prerequisites.need(executable(p), p + " is missing: install slurm-wlm and munge (apt-get install -y slurm-wlm munge) to run SlurmIT");
    }
    Prerequisites.need(ClusterTesting.isRoot(), "SlurmIT starts slurmd, which must run as root");
    Prerequisites.need(Files.isRegularFile(ClusterTesting.JAR), "no " + ClusterTesting.JAR + ": run 'mvn verify' (package comes first)");

    dir = Files.createTempDirectory("gradflow-slurm-it");
    Path keyDir = Files.createDirectories(dir.resolve("munge-key"));
    Files.setPosixFilePermissions(keyDir, PosixFilePermissions.fromString("rwx------"));
    Path key = keyDir.resolve("munge.key");
    byte[] bytes = new byte[1024];
    new SecureRandom().nextBytes(bytes);
    Files.write(key, bytes);
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("r--------"));
    Path mungeDir = Files.createDirectories(dir.resolve("munge"));
    Files.setPosixFilePermissions(mungeDir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path socket = mungeDir.resolve("munge.socket");
    mungeLog = dir.resolve("munged.log");
    daemons.add(new ProcessBuilder("/usr/sbin/munged", "--foreground", "--force", "--key-file=" + key,
        "--socket=" + socket, "--pid-file=" + mungeDir.resolve("munged.pid"), "--seed-file=" + keyDir.resolve("seed"),
        "--log-file=" + mungeLog).redirectErrorStream(true).redirectOutput(mungeLog.toFile()).start());
    waitFor(() -> Files.exists(socket), 20, "munged did not create its socket" + tails(mungeLog));

    int ctldPort = ClusterTesting.freePort();
    int slurmdPort = ClusterTesting.freePort();
    Path state = Files.createDirectories(dir.resolve("state"));
    Path spool = Files.createDirectories(dir.resolve("spool"));
    conf = dir.resolve("slurm.conf");
    // One node, "localhost", with 4 CPUs whatever the machine has (config_overrides): two
    // servers and two workers fit. No cgroups, no accounting. cred_expire is also the delay of a
    // requeued job (default 120 s); sched_interval makes the scheduler look every 2 s. MinJobAge
    // paces 'sbatch --wait': it sleeps 2 s between polls, times 4 after each poll while the sleep
    // is below MinJobAge / 2, up to 32 s: 2, 8, 8, ... s with 16; 2, 8, 32, 32, ... s with the
    // default 300. A finished job stays visible at least MinJobAge (16 s) for the requeue.
    Files.writeString(conf, String.join("\n",
        "ClusterName=gradflowit",
        "SlurmctldHost=localhost(127.0.0.1)",
        "SlurmctldPort=" + ctldPort,
        "SlurmdPort=" + slurmdPort,
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        "AuthInfo=socket=" + socket + ",cred_expire=10",
        "StateSaveLocation=" + state,
        "SlurmdSpoolDir=" + spool,
        "SlurmctldPidFile=" + dir.resolve("slurmctld.pid"),
        "SlurmdPidFile=" + dir.resolve("slurmd.pid"),
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_CPU",
        "SchedulerType=sched/builtin",
        "SchedulerParameters=sched_interval=2",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "MpiDefault=none",
        "ReturnToService=2",
        "SlurmdParameters=config_overrides",
        "MailProg=/bin/true",
        "InactiveLimit=0",
        "MinJobAge=16",
        "KillWait=5",
        "SlurmctldDebug=info",
        "SlurmdDebug=info",
        "NodeName=localhost NodeAddr=127.0.0.1 CPUs=4 RealMemory=1000 State=UNKNOWN",
        "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES",
        ""));
    env = Map.of("SLURM_CONF", conf.toString());
    ctldLog = dir.resolve("slurmctld.log");
    slurmdLog = dir.resolve("slurmd.log");
    daemons.add(daemon(ctldLog, "/usr/sbin/slurmctld", "-D", "-f", conf.toString()));
    daemons.add(daemon(slurmdLog, "/usr/sbin/slurmd", "-D", "-N", "localhost", "-f", conf.toString()));
    waitFor(() -> {
      ClusterTesting.Result r = ClusterTesting.run(List.of("sinfo", "-h", "-n", "localhost", "-o", "%T"), dir, env, 20);
      return r.code() == 0 && r.output().strip().equals("idle");
    }, 60, "the Slurm node did not become idle" + tails(ctldLog, slurmdLog));
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (conf != null) {
      ClusterTesting.run(List.of("scancel", "--quiet", "--user", System.getProperty("user.name")), dir, env, 20);
      // give slurmd the time to end the jobs' steps (after a failed test): stopped first, it
      // would leave their processes running
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (System.nanoTime() < deadline
          && !ClusterTesting.run(List.of("squeue", "-h", "-o", "%i"), dir, env, 20).output().isBlank()) {
        Thread.sleep(500);
      }
    }
    for (int i = daemons.size() - 1; i >= 0; i--) {
      ClusterTesting.stop(daemons.get(i));
    }
    ClusterTesting.deleteTree(dir);
  }

  /**
   * submit --secure --servers 2: two sharded servers and two workers in the allocation, every call
   * over mutual TLS with the job token (credentials the script made); a requeued job makes them
   * again and runs to the same summary.
   */
  @Test
  void submitRunsTwoShardedServersAndTwoWorkersInTheAllocationAndARequeuedJobRunsAgain() throws Exception {
    Path work = Files.createDirectories(dir.resolve("submit"));
    List<String> args = new ArrayList<>(List.of("submit", "--slurm", "--nodes", "1", "--servers", "2", "--ntasks", "4",
        "--time", "5:00", "--wait", "--secure", "--script", work.resolve("job.sbatch").toString()));
    args.addAll(SMALL_JOB);
    String weights = singleProcessWeights(); // before: the finished job is requeued at once
    // every worker gets the job's end from the server: no late worker to wait for
    Map<String, String> jobEnv = new HashMap<>(env);
    jobEnv.put("GRADFLOW_SERVER_OPTS", "--linger-seconds 1");
    ClusterTesting.Result r = ClusterTesting.run(gradflow(args.toArray(String[]::new)), work, jobEnv, 150);
    Matcher id = Pattern.compile("submitted Slurm job (\\d+)").matcher(r.output());
    if (!id.find()) {
      fail("gradflow submit did not submit (exit " + r.code() + "):\n" + r.output() + tails(ctldLog));
    }
    String job = id.group(1);
    Path out = work.resolve("gradflow-" + job);
    Path jobLog = work.resolve("gradflow-" + job + ".out");
    Path followerLog = out.resolve("logs/server-1.log");
    String logs = r.output() + tails(jobLog, out.resolve("logs/server.log"), followerLog, out.resolve("logs/worker-0.log"),
        out.resolve("logs/worker-1.log"), ctldLog, slurmdLog);
    if (r.code() == -1) {
      ClusterTesting.run(List.of("scancel", job), work, env, 20);
    }
    assertEquals(0, r.code(), logs);
    assertTrue(r.output().contains("Slurm job " + job + " done"), logs);

    Path summary = out.resolve("summary.json");
    assertTrue(Files.isRegularFile(summary), "no summary.json in the job's directory" + logs);
    assertEquals(2, RunSummary.read(summary).workers(), logs);
    assertEquals(30, RunSummary.read(summary).steps(), logs);
    assertEquals(weights, RunSummary.read(summary).weightsSha256(), "same weights as one process");
    for (String w : List.of("worker-0.log", "worker-1.log")) {
      assertTrue(Files.readString(out.resolve("logs").resolve(w)).contains("joined as rank"), w + logs);
    }
    // task 1 ran server 1, a follower that owned a range and was read to the end by the coordinator
    String follower = Files.readString(followerLog);
    assertTrue(follower.contains("gradflow server: server 1 (a follower) listening on"), logs);
    assertTrue(follower.contains("the coordinator read the final range after 30 steps"), logs);
    assertTrue(Files.readString(jobLog).contains("2 parameter servers (the coordinator on localhost), 2 worker(s)"), logs);
    // --secure: every call went over mutual TLS with the token, from the files the script made
    assertTrue(Files.readString(jobLog).contains("mutual TLS and a job token for every server and worker"), logs);
    assertTrue(Pattern.compile("(?m)TLS: TLSv1\\.[23] \\S+, client certificate CN=gradflow worker")
        .matcher(Files.readString(out.resolve("logs/server.log"))).find(), logs);
    assertTrue(Pattern.compile("(?m)TLS: TLSv1\\.[23] \\S+, client certificate CN=gradflow server").matcher(follower).find(), logs);
    for (String log : List.of("server.log", "server-1.log")) {
      assertFalse(Files.readString(out.resolve("logs").resolve(log)).contains("gradflow server: WARNING"), log + logs);
    }
    assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(out.resolve("secure"))), logs);

    // Requeued (as after a preemption or a node failure), the job runs its script again with the
    // same id and directory: a second run that ends with the same summary.
    Files.delete(summary);
    ClusterTesting.Result requeue = ClusterTesting.run(List.of("scontrol", "requeue", job), work, env, 20);
    assertEquals(0, requeue.code(), requeue.output());
    waitFor(() -> {
      String show = ClusterTesting.run(List.of("scontrol", "show", "job", job), work, env, 20).output();
      return show.contains("Restarts=1") && show.contains("JobState=COMPLETED") || show.contains("JobState=FAILED");
    }, 120, "the requeued job did not end" + tails(jobLog, ctldLog));
    String show = ClusterTesting.run(List.of("scontrol", "show", "job", job), work, env, 20).output();
    String again = tails(jobLog, out.resolve("logs/server.log"), followerLog);
    assertTrue(show.contains("JobState=COMPLETED"), show + again);
    assertTrue(Files.readString(jobLog).contains("gradflow.sbatch: restart 1: resuming from the checkpoint"), again);
    // the coordinator resumed from its checkpoint (every range is in it) and found the job done; the
    // follower, which keeps nothing and takes no --resume, waited for its seed and was stopped
    assertTrue(Files.readString(out.resolve("logs/server.log")).contains("resuming from "), again);
    assertEquals(2, Files.readString(followerLog).split("waiting for the coordinator's state", -1).length - 1, again);
    assertTrue(Files.readString(jobLog).contains("the coordinator finished the job; stopping the server(s) still running"), again);
    assertEquals(30, RunSummary.read(summary).steps(), again);
    assertEquals(weights, RunSummary.read(summary).weightsSha256(), again);
  }

  /**
   * kill -9 of worker 1's JVM at step 10 of a job with two sharded servers: its task starts the
   * worker again (GRADFLOW_WORKER_RESTARTS, default 3), which joins the running job, pulling from
   * and pushing to both servers; the job completes on the single process's weights.
   */
  @Test
  void aWorkerKilledMidJobIsStartedAgainByItsTaskAndTheJobEndsOnTheSameWeights() throws Exception {
    KilledWorkerJob j = runAndKillWorkerOne("restart", 2, Map.of());
    // the task's output, the worker's log, tells of the restart, and of the replacement's join and work
    assertTrue(j.workerLog().contains("gradflow.sbatch: worker 1 exited with code 137; restarting it (1/3)"), j.logs());
    String replacement = j.workerLog().substring(j.workerLog().indexOf("restarting it (1/3)"));
    assertTrue(replacement.contains("gradflow worker: joined as rank") && replacement.contains("job done after step 30"),
        j.logs());
  }

  /**
   * With no restart left (GRADFLOW_WORKER_RESTARTS=0) the killed worker's task ends, and the other
   * worker carries on: the server hands it the lost worker's micro-shards and the job completes
   * (exit 0) on the single process's weights.
   */
  @Test
  void aWorkerKilledMidJobWithNoRestartLeftLeavesTheJobToTheOthers() throws Exception {
    KilledWorkerJob j = runAndKillWorkerOne("no-restart", 1, Map.of("GRADFLOW_WORKER_RESTARTS", "0"));
    assertTrue(j.workerLog().contains("gradflow.sbatch: worker 1 exited with code 137; no restart left"), j.logs());
    assertTrue(j.jobLog().contains("the job finished without the worker task(s) that gave up"), j.logs());
    assertTrue(j.serverLog().lines().anyMatch(l -> l.contains("lost: ") && l.contains("(worker-1)")), j.logs());
  }

  /** The logs of a job whose worker 1 was killed. */
  record KilledWorkerJob(String jobLog, String serverLog, String workerLog, String logs) {}

  /**
   * Submits the small job with {@code servers} servers and two workers (workers slowed to 150 ms a
   * push so that it runs for a few seconds, a silent worker lost after 2 s), kills worker 1's JVM
   * with SIGKILL once the job is past step 10, waits for the job to complete and checks its
   * summary.
   */
  private KilledWorkerJob runAndKillWorkerOne(String name, int servers, Map<String, String> extraEnv) throws Exception {
    Path work = Files.createDirectories(dir.resolve(name));
    Map<String, String> jobEnv = new HashMap<>(env);
    jobEnv.put("GRADFLOW_WORKER_OPTS", "--push-delay-ms 150");
    jobEnv.put("GRADFLOW_SERVER_OPTS", "--worker-timeout 2 --linger-seconds 1");
    jobEnv.putAll(extraEnv);
    List<String> args = new ArrayList<>(List.of("submit", "--slurm", "--nodes", "1", "--servers", Integer.toString(servers),
        "--ntasks", Integer.toString(servers + 2), "--time", "5:00", "--script", work.resolve("job.sbatch").toString()));
    args.addAll(SMALL_JOB);
    ClusterTesting.Result r = ClusterTesting.run(gradflow(args.toArray(String[]::new)), work, jobEnv, 60);
    Matcher id = Pattern.compile("submitted Slurm job (\\d+)").matcher(r.output());
    if (!id.find()) {
      fail("gradflow submit did not submit (exit " + r.code() + "):\n" + r.output() + tails(ctldLog));
    }
    String job = id.group(1);
    Path out = work.resolve("gradflow-" + job);
    Path jobLog = work.resolve("gradflow-" + job + ".out");
    Path serverLog = out.resolve("logs/server.log");
    Path workerLog = out.resolve("logs/worker-1.log");
    try {
      Jobs.awaitText(out.resolve("metrics.jsonl.partial"), "\"step\":10,", 120);
      String port = Files.readString(out.resolve("logs/server.port")).trim();
      // this job's worker 1 only: this jar, this server's port, that name
      List<ProcessHandle> worker = ClusterTesting.processesWith(ClusterTesting.JAR.toString(), " worker ",
          "--server localhost:" + port + " ", "--name worker-1");
      assertEquals(1, worker.size(), "worker 1 of job " + job + ": " + worker + tails(jobLog, workerLog));
      worker.get(0).destroyForcibly();
      waitFor(() -> {
        String show = ClusterTesting.run(List.of("scontrol", "show", "job", job), work, env, 20).output();
        return show.contains("JobState=COMPLETED") || show.contains("JobState=FAILED");
      }, 120, "the job did not end" + tails(jobLog, serverLog, workerLog, ctldLog));
    } catch (Throwable t) {
      ClusterTesting.run(List.of("scancel", job), work, env, 20);
      throw t;
    }
    String logs = tails(jobLog, serverLog, out.resolve("logs/worker-0.log"), workerLog);
    String show = ClusterTesting.run(List.of("scontrol", "show", "job", job), work, env, 20).output();
    assertTrue(show.contains("JobState=COMPLETED"), show + logs);
    Path summary = out.resolve("summary.json");
    assertTrue(Files.isRegularFile(summary), "no summary.json in the job's directory" + logs);
    assertEquals(30, RunSummary.read(summary).steps(), logs);
    assertEquals(singleProcessWeights(), RunSummary.read(summary).weightsSha256(), "same weights as one process" + logs);
    if (servers > 1) {
      assertTrue(Files.readString(out.resolve("logs/server-1.log")).contains("the coordinator read the final range after 30 steps"),
          logs + tails(out.resolve("logs/server-1.log")));
    }
    return new KilledWorkerJob(Files.readString(jobLog), Files.readString(serverLog), Files.readString(workerLog), logs);
  }

  private static synchronized String singleProcessWeights() throws IOException {
    if (singleProcess == null) {
      singleProcess = ClusterTesting.singleProcessWeights(dir.resolve("single"));
    }
    return singleProcess;
  }

  private static Process daemon(Path log, String... cmd) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("SLURM_CONF", conf.toString());
    return pb.start();
  }

  interface Condition {
    boolean holds() throws Exception;
  }

  private static void waitFor(Condition c, long seconds, String message) throws Exception {
    long deadline = System.nanoTime() + seconds * 1_000_000_000L;
    while (System.nanoTime() < deadline) {
      if (c.holds()) {
        return;
      }
      for (Process d : daemons) {
        if (!d.isAlive()) {
          fail("a daemon exited with code " + d.exitValue() + ": " + message);
        }
      }
      Thread.sleep(500);
    }
    fail(message);
  }
}
