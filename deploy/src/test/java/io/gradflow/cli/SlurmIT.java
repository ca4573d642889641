package io.gradflow.cli;

import static io.gradflow.cli.ClusterTesting.SMALL_JOB;
import static io.gradflow.cli.ClusterTesting.executable;
import static io.gradflow.cli.ClusterTesting.gradflow;
import static io.gradflow.cli.ClusterTesting.tails;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.gradflow.common.report.RunSummary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
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
 * --slurm} writes and submits the job script, the job runs the server and two workers through srun
 * and writes its summary in the job's directory; requeued, the job runs again in the same directory
 * (resuming from its checkpoint where the server supports it).
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
    // One node, "localhost", with 4 CPUs whatever the machine has (config_overrides): the
    // server and two workers fit. No cgroups, no accounting. cred_expire is also the delay of a
    // requeued job (default 120 s); sched_interval makes the scheduler look every 2 s.
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
        "MinJobAge=300",
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
    }
    for (int i = daemons.size() - 1; i >= 0; i--) {
      ClusterTesting.stop(daemons.get(i));
    }
    ClusterTesting.deleteTree(dir);
  }

  @Test
  void submitRunsTheServerAndTwoWorkersInTheAllocationAndARequeuedJobRunsAgain() throws Exception {
    Path work = Files.createDirectories(dir.resolve("submit"));
    List<String> args = new ArrayList<>(List.of("submit", "--slurm", "--nodes", "1", "--ntasks", "3", "--time", "5:00",
        "--wait", "--script", work.resolve("job.sbatch").toString()));
    args.addAll(SMALL_JOB);
    ClusterTesting.Result r = ClusterTesting.run(gradflow(args.toArray(String[]::new)), work, env, 150);
    Matcher id = Pattern.compile("submitted Slurm job (\\d+)").matcher(r.output());
    if (!id.find()) {
      fail("gradflow submit did not submit (exit " + r.code() + "):\n" + r.output() + tails(ctldLog));
    }
    String job = id.group(1);
    Path out = work.resolve("gradflow-" + job);
    Path jobLog = work.resolve("gradflow-" + job + ".out");
    String logs = r.output() + tails(jobLog, out.resolve("logs/server.log"), out.resolve("logs/worker-0.log"),
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
    String weights = ClusterTesting.singleProcessWeights(dir.resolve("single"));
    assertEquals(weights, RunSummary.read(summary).weightsSha256(), "same weights as one process");
    for (String w : List.of("worker-0.log", "worker-1.log")) {
      assertTrue(Files.readString(out.resolve("logs").resolve(w)).contains("joined as rank"), w + logs);
    }

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
    String again = tails(jobLog, out.resolve("logs/server.log"));
    assertTrue(show.contains("JobState=COMPLETED"), show + again);
    assertTrue(Files.readString(jobLog).contains("gradflow.sbatch: restart 1:"), again);
    assertEquals(30, RunSummary.read(summary).steps(), again);
    assertEquals(weights, RunSummary.read(summary).weightsSha256(), again);
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
