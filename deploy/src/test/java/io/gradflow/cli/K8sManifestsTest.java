package io.gradflow.cli;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The Kubernetes manifests in deploy/k8s parse and agree with the CLI: every flag they pass exists
 * on the gradflow command they run and the arguments parse, ports and names line up between the
 * server's arguments, the Service, the server's Job and the workers' --server, the kustomization sets
 * image, workers and job in one place. And they behave as a training job should: every pod runs
 * under a Job and ends when the training is done, a failed container restarts in place, and the
 * restarted server resumes from the newest checkpoint on its persistent volume.
 */
class K8sManifestsTest {
  private static final Path K8S = Path.of("k8s");

  /**
   * Flags the manifests pass that another change (TLS and token authentication) adds to {@code
   * server} and {@code worker}. Until it has landed they may be missing from the CLI; once they
   * exist they are checked like every other flag. Empty this set when they are in.
   */
  private static final Set<String> PENDING_FLAGS = Set.of();

  private static final Pattern VAR = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)");

  private static Map<String, Object> kustomization;
  private static final List<Map<String, Object>> docs = new ArrayList<>();
  private static Map<String, String> literals;

  @BeforeAll
  static void load() throws IOException {
    kustomization = loadAll(K8S.resolve("kustomization.yaml")).get(0);
    for (Object r : list(kustomization, "resources")) {
      docs.addAll(loadAll(K8S.resolve((String) r)));
    }
    literals = new LinkedHashMap<>();
    for (Object gen : list(kustomization, "configMapGenerator")) {
      for (Object lit : list(map(gen), "literals")) {
        String s = (String) lit;
        int eq = s.indexOf('=');
        literals.put(s.substring(0, eq), s.substring(eq + 1));
      }
    }
  }

  @Test
  void kustomizationListsEveryManifestAndSetsImageWorkersAndModelInOnePlace() throws IOException {
    List<String> listed = list(kustomization, "resources").stream().map(String::valueOf).toList();
    try (Stream<Path> files = Files.list(K8S)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).toList()) {
        String name = f.getFileName().toString();
        assertTrue(name.equals("kustomization.yaml") || listed.contains(name), name + " is not in kustomization.yaml");
      }
    }
    String imageName = (String) map(list(kustomization, "images").get(0)).get("name");
    for (Map<String, Object> c : List.of(serverContainer(), workerContainer())) {
      assertEquals(imageName, c.get("image"), "container " + c.get("name") + " must use the kustomized image name");
    }
    assertTrue(literals.containsKey("GRADFLOW_WORKERS"), "kustomization sets the worker count");
    assertTrue(literals.containsKey("GRADFLOW_MODEL"), "kustomization sets the model");
    // the Job's completions and parallelism follow GRADFLOW_WORKERS
    Map<String, Object> replacement = map(list(kustomization, "replacements").get(0));
    assertEquals("data.GRADFLOW_WORKERS", map(replacement.get("source")).get("fieldPath"));
    Map<String, Object> target = map(list(replacement, "targets").get(0));
    assertEquals("Job", map(target.get("select")).get("kind"));
    assertEquals(name(workerJob()), map(target.get("select")).get("name"));
    assertEquals(List.of("spec.completions", "spec.parallelism"), target.get("fieldPaths"));
    // and the server's --workers is the same value
    assertEquals("$(GRADFLOW_WORKERS)", valueOf(args(serverContainer()), "--workers"));
  }

  @Test
  void everyFlagTheServerIsGivenExistsAndTheArgumentsParse() {
    checkAgainstCli(serverContainer(), "server");
  }

  @Test
  void everyFlagTheWorkersAreGivenExistsAndTheArgumentsParse() {
    checkAgainstCli(workerContainer(), "worker");
  }

  @Test
  void portsAndNamesAgreeBetweenServerServiceAndWorkers() {
    Map<String, Object> service = doc("Service");
    Map<String, Object> serverJob = serverJob();
    Map<String, Object> svcSpec = map(service.get("spec"));
    Map<String, Object> jobSpec = map(serverJob.get("spec"));
    assertEquals("None", svcSpec.get("clusterIP"), "the Service is headless");
    assertEquals("Indexed", jobSpec.get("completionMode"), "an Indexed Job names its pod <job>-<index>");
    assertEquals(1, jobSpec.get("completions"), "one parameter server");
    assertEquals(1, jobSpec.get("parallelism"), "one parameter server");
    assertEquals(name(service), pod(serverJob).get("subdomain"), "the server pod's subdomain is the headless Service");
    Map<String, Object> podLabels = map(map(map(jobSpec.get("template")).get("metadata")).get("labels"));
    for (Map.Entry<String, Object> e : map(svcSpec.get("selector")).entrySet()) {
      assertEquals(e.getValue(), podLabels.get(e.getKey()), "Service selector " + e.getKey() + " matches the server pod");
    }
    Map<String, Object> server = serverContainer();
    int port = Integer.parseInt(valueOf(args(server), "--port"));
    Map<String, Object> svcPort = map(list(svcSpec, "ports").get(0));
    assertEquals(port, svcPort.get("port"), "Service port = server --port");
    Map<String, Object> containerPort = map(list(server, "ports").get(0));
    assertEquals(port, containerPort.get("containerPort"), "containerPort = server --port");
    assertEquals(containerPort.get("name"), svcPort.get("targetPort"), "Service targetPort names the container port");
    assertEquals(containerPort.get("name"), map(map(server.get("readinessProbe")).get("tcpSocket")).get("port"));

    String target = valueOf(args(workerContainer()), "--server");
    String podDns = name(serverJob) + "-0." + name(service);
    assertEquals(podDns + ":" + port, target, "workers dial the server pod (hostname <job>-0) through the headless Service");
  }

  /**
   * Pods end when the training is done: the server and the workers run under batch/v1 Jobs (a
   * StatefulSet or Deployment would start them again after they exit 0), their containers are
   * restarted in place only on failure, and the server stops answering after a finite linger.
   */
  @Test
  void everyPodRunsUnderAJobAndEndsWhenTheTrainingIsDone() {
    for (Map<String, Object> d : docs) {
      assertTrue(!Set.of("StatefulSet", "Deployment", "ReplicaSet", "DaemonSet", "Pod").contains(d.get("kind")),
          d.get("kind") + " " + name(d) + ": its pods would not end with the training");
    }
    for (Map<String, Object> job : List.of(serverJob(), workerJob())) {
      assertEquals("batch/v1", job.get("apiVersion"));
      assertEquals("OnFailure", pod(job).get("restartPolicy"),
          name(job) + ": a container that fails restarts in its pod (same volume, same name); one that exits 0 ends");
      assertTrue((Integer) map(job.get("spec")).get("backoffLimit") > 0, name(job) + " retries a failed pod");
    }
    String linger = valueOf(args(serverContainer()), "--linger-seconds");
    assertTrue(linger == null || Double.parseDouble(linger) < 600, "the server exits soon after the job: --linger-seconds " + linger);
    assertEquals(1, ((Number) map(serverJob().get("spec")).get("completions")).intValue());
  }

  /**
   * The server keeps its outputs and checkpoints on a PersistentVolumeClaim of the manifests, and
   * is started with {@code --resume-if-any} on that directory: the first start finds no checkpoint
   * and starts the job, a restarted container resumes from the newest checkpoint there (plain
   * {@code --resume} would fail the first start; no resume flag would start over).
   */
  @Test
  void aRestartedServerResumesFromTheNewestCheckpointOnItsVolume() {
    List<String> a = args(serverContainer());
    String outDir = valueOf(a, "--out");
    assertNotNull(outDir, "the server writes to --out");
    assertEquals(outDir, valueOf(a, "--resume-if-any"), "the server resumes from its own --out when it holds a checkpoint");
    assertTrue(!a.contains("--resume"), "plain --resume fails when there is no checkpoint yet: the first start");
    String volume = mountFor(serverContainer(), outDir);
    Map<String, Object> v = list(pod(serverJob()), "volumes").stream().map(K8sManifestsTest::map)
        .filter(m -> volume.equals(m.get("name"))).findFirst()
        .orElseThrow(() -> new AssertionError("no volume " + volume + " in the server pod"));
    Map<String, Object> claim = map(v.get("persistentVolumeClaim"));
    assertNotNull(claim, "--out " + outDir + " is on a PersistentVolumeClaim, not " + v);
    Map<String, Object> pvc = docs.stream()
        .filter(d -> "PersistentVolumeClaim".equals(d.get("kind")) && claim.get("claimName").equals(name(d)))
        .findFirst().orElseThrow(() -> new AssertionError("the manifests have no PersistentVolumeClaim " + claim.get("claimName")));
    assertTrue(list(map(pvc.get("spec")), "accessModes").contains("ReadWriteOnce"), "one server pod writes it");
    // the server's arguments, with the resume, parse and make a valid job (see checkAgainstCli)
    ServerCommand parsed = (ServerCommand) Main.commandLine().parseArgs(expand(serverContainer()).toArray(String[]::new))
        .subcommand().commandSpec().userObject();
    assertEquals(Path.of(outDir), parsed.resumeIfAny);
  }

  @Test
  void prometheusScrapesTheServersMetricsPort() {
    Map<String, Object> template = map(map(serverJob().get("spec")).get("template"));
    Map<String, Object> annotations = map(map(template.get("metadata")).get("annotations"));
    String port = valueOf(args(serverContainer()), "--metrics-port");
    assertNotNull(port, "the server is given --metrics-port");
    assertEquals("true", annotations.get("prometheus.io/scrape"));
    assertEquals(port, annotations.get("prometheus.io/port"), "prometheus.io/port = server --metrics-port");
    assertEquals("/metrics", annotations.get("prometheus.io/path"));
    assertTrue(list(serverContainer(), "ports").stream().map(p -> map(p))
        .anyMatch(p -> "metrics".equals(p.get("name")) && Integer.parseInt(port) == (Integer) p.get("containerPort")),
        "a container port named metrics = --metrics-port");
  }

  @Test
  void filesTheCommandsReadAndWriteAreOnTheirVolumes() {
    Map<String, Object> serverPod = pod(serverJob());
    String outMount = mountFor(serverContainer(), valueOf(args(serverContainer()), "--out"));
    assertTrue(list(serverPod, "volumes").stream().map(K8sManifestsTest::map)
        .anyMatch(v -> outMount.equals(v.get("name")) && v.containsKey("persistentVolumeClaim")),
        "--out is on a persistent volume claim, not " + outMount);
    assertSecurityFilesFromSecrets(serverContainer(), args(serverContainer()), serverPod);
    assertSecurityFilesFromSecrets(workerContainer(), args(workerContainer()), pod(workerJob()));
    assertNotNull(valueOf(args(serverContainer()), "--token-file"), "the server requires a token");
    assertEquals(valueOf(args(serverContainer()), "--token-file"), valueOf(args(workerContainer()), "--token-file"));
  }

  /**
   * Every TLS and token file {@code args} name comes from the Secret gradflow-tls or
   * gradflow-token, mounted into {@code container} from {@code pod}'s volumes, with its key
   * projected where the volume picks keys.
   */
  private static void assertSecurityFilesFromSecrets(Map<String, Object> container, List<String> args, Map<String, Object> pod) {
    for (String flag : List.of("--tls-cert", "--tls-key", "--tls-ca", "--token-file", "--range-server-ca")) {
      String file = valueOf(args, flag);
      if (file == null) {
        continue;
      }
      String volume = mountFor(container, file);
      Map<String, Object> v = list(pod, "volumes").stream().map(K8sManifestsTest::map)
          .filter(m -> volume.equals(m.get("name"))).findFirst().orElseThrow();
      Map<String, Object> secret = map(v.get("secret"));
      assertNotNull(secret, flag + " " + file + " comes from a Secret");
      assertTrue(Set.of("gradflow-tls", "gradflow-token").contains(secret.get("secretName")));
      String key = Path.of(file).getFileName().toString();
      if (secret.containsKey("items")) {
        assertTrue(list(secret, "items").stream().anyMatch(i -> key.equals(map(i).get("path"))),
            flag + ": the Secret volume projects " + key);
      }
    }
  }

  @Test
  void everyContainerRequestsResources() {
    for (Map<String, Object> c : List.of(serverContainer(), workerContainer())) {
      Map<String, Object> requests = map(map(c.get("resources")).get("requests"));
      assertTrue(requests.containsKey("cpu") && requests.containsKey("memory"), c.get("name") + " requests cpu and memory");
    }
    Map<String, Object> jobSpec = map(workerJob().get("spec"));
    assertEquals("Indexed", jobSpec.get("completionMode"));
  }

  /** kubectl's kustomize renders the directory, with the one-place settings applied everywhere. */
  @Test
  void kubectlKustomizeRendersTheSettingsEverywhere() throws Exception {
    Prerequisites.need(SubmitCommandTest.onPath("kubectl"), "kubectl (1.21 or later: kustomize v4 renders labels and replacements) is not on PATH: it renders deploy/k8s");
    List<Map<String, Object>> rendered = kustomize(K8S);
    Map<String, Object> cm = rendered.stream().filter(d -> "ConfigMap".equals(d.get("kind"))).findFirst().orElseThrow();
    int workers = Integer.parseInt(literals.get("GRADFLOW_WORKERS"));
    Map<String, Object> job = rendered.stream().filter(d -> "Job".equals(d.get("kind")) && name(workerJob()).equals(name(d)))
        .findFirst().orElseThrow();
    assertEquals(workers, map(job.get("spec")).get("completions"));
    assertEquals(workers, map(job.get("spec")).get("parallelism"));
    Map<String, Object> serverJob = rendered.stream()
        .filter(d -> "Job".equals(d.get("kind")) && name(serverJob()).equals(name(d))).findFirst().orElseThrow();
    assertEquals(1, map(serverJob.get("spec")).get("completions"), "the replacement leaves the server's Job alone");
    Map<String, Object> image = map(list(kustomization, "images").get(0));
    String expectedImage = image.get("newName") + ":" + image.get("newTag");
    for (Map<String, Object> d : rendered) {
      if (!"Job".equals(d.get("kind"))) {
        continue;
      }
      Map<String, Object> pod = map(map(map(d.get("spec")).get("template")).get("spec"));
      Map<String, Object> c = map(list(pod, "containers").get(0));
      assertEquals(expectedImage, c.get("image"));
      for (Object e : list(c, "env")) {
        Map<String, Object> from = map(map(e).get("valueFrom"));
        if (from != null && from.containsKey("configMapKeyRef")) {
          assertEquals(name(cm), map(from.get("configMapKeyRef")).get("name"), "env refers to the generated ConfigMap");
        }
      }
    }
  }

  /**
   * The sharded component (deploy/k8s/sharded, enabled as its comment in kustomization.yaml says)
   * renders two servers, each a Job of one pod that ends with the training (restarted in place only
   * on failure, no StatefulSet), reachable at its hostname under the headless Service: the
   * coordinator (--server-index 0) keeps the volume and --resume-if-any and reads server 1 at the
   * address the follower has, over TLS with the CA of the Secret; the workers dial both; every pod
   * takes its TLS files and the job token from the Secrets.
   */
  @Test
  void theShardedComponentRunsTwoServersUnderJobsThatEndWithTheTraining(@org.junit.jupiter.api.io.TempDir Path tmp)
      throws Exception {
    Prerequisites.need(SubmitCommandTest.onPath("kubectl"), "kubectl (1.21 or later: kustomize v4 renders components) is not on PATH: it renders deploy/k8s/sharded");
    Path copy = tmp.resolve("k8s");
    try (Stream<Path> files = Files.walk(K8S)) {
      for (Path f : files.toList()) {
        Path to = copy.resolve(K8S.relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(to);
        } else {
          Files.copy(f, to);
        }
      }
    }
    Path kustomizationFile = copy.resolve("kustomization.yaml");
    String text = Files.readString(kustomizationFile);
    assertTrue(text.contains("\n# components:\n#   - sharded\n"), "kustomization.yaml tells how to enable the sharded component");
    Files.writeString(kustomizationFile, text.replace("\n# components:\n#   - sharded\n", "\ncomponents:\n  - sharded\n"));
    List<Map<String, Object>> rendered = kustomize(copy);

    Map<String, Object> service = rendered.stream().filter(d -> "Service".equals(d.get("kind"))).findFirst().orElseThrow();
    Map<String, Object> selector = map(map(service.get("spec")).get("selector"));
    Map<Integer, Map<String, Object>> servers = new java.util.TreeMap<>();
    Map<Integer, String> addresses = new java.util.TreeMap<>();
    Map<String, Object> workers = null;
    for (Map<String, Object> d : rendered) {
      assertTrue(Set.of("ConfigMap", "Service", "PersistentVolumeClaim", "Job").contains(d.get("kind")),
          d.get("kind") + " " + name(d) + ": only Jobs run pods, which end with the training");
      if (!"Job".equals(d.get("kind"))) {
        continue;
      }
      assertEquals("batch/v1", d.get("apiVersion"));
      assertEquals("OnFailure", pod(d).get("restartPolicy"), name(d) + ": restarted in place on failure only");
      assertTrue((Integer) map(d.get("spec")).get("backoffLimit") > 0, name(d) + " retries a failed pod");
      List<String> a = expand(container(d));
      assertNotNull(valueOf(a, "--token-file"), name(d) + ": the job token");
      assertNotNull(valueOf(a, a.get(0).equals("worker") ? "--tls-ca" : "--tls-cert"), name(d) + ": TLS");
      assertSecurityFilesFromSecrets(container(d), a, pod(d));
      checkAgainstCli(container(d), a.get(0));
      if (a.get(0).equals("worker")) {
        workers = d;
        continue;
      }
      assertEquals(1, ((Number) map(d.get("spec")).get("completions")).intValue(), name(d) + ": one pod per server");
      ServerCommand s = (ServerCommand) Main.commandLine().parseArgs(a.toArray(String[]::new)).subcommand().commandSpec().userObject();
      assertEquals(2, s.servers, name(d));
      assertTrue(servers.put(s.serverIndex, d) == null, "server " + s.serverIndex + " twice");
      // the pod's DNS name: its hostname (an Indexed Job's pod: <job>-<index>) under the headless Service
      Map<String, Object> pod = pod(d);
      String hostname = pod.containsKey("hostname") ? (String) pod.get("hostname")
          : "Indexed".equals(map(d.get("spec")).get("completionMode")) ? name(d) + "-0" : null;
      assertNotNull(hostname, name(d) + ": a pod with a stable DNS name");
      assertEquals(name(service), pod.get("subdomain"), name(d) + ": under the headless Service");
      Map<String, Object> labels = map(map(map(map(d.get("spec")).get("template")).get("metadata")).get("labels"));
      selector.forEach((k, v) -> assertEquals(v, labels.get(k), name(d) + ": selected by the Service, so its name resolves"));
      addresses.put(s.serverIndex, hostname + "." + name(service) + ":" + s.port);
    }
    assertEquals(Set.of(0, 1), servers.keySet(), "servers 0 and 1");
    ServerCommand coordinator = parsedServer(servers.get(0));
    ServerCommand follower = parsedServer(servers.get(1));
    assertEquals(List.of(addresses.get(1)), coordinator.rangeServers, "the coordinator reads server 1 where it listens");
    assertEquals(coordinator.security.tlsCert, follower.security.tlsCert, "both servers serve the Secret's certificate");
    assertEquals(coordinator.security.tokenFile, follower.security.tokenFile);
    assertNotNull(coordinator.security.rangeServerCa, "the coordinator checks server 1's certificate");
    assertEquals(null, coordinator.security.tlsCa, "one-way TLS, as with one server: the token tells the coordinator");
    assertEquals(null, follower.security.rangeServerCa);
    assertEquals(List.of(), follower.rangeServers);
    assertEquals(Path.of("/data/run"), coordinator.resumeIfAny, "the coordinator resumes from its volume");
    assertEquals(null, follower.resumeIfAny);
    assertEquals(null, follower.resume);
    String volume = mountFor(container(servers.get(0)), "/data/run");
    assertTrue(list(pod(servers.get(0)), "volumes").stream().map(K8sManifestsTest::map)
        .anyMatch(v -> volume.equals(v.get("name")) && v.containsKey("persistentVolumeClaim")), "--out on the claim");
    ServerCommand.rangesOf(coordinator.job.modelSpec(), 2); // the model is large enough for two ranges
    assertNotNull(workers, "a workers Job");
    WorkerCommand w = (WorkerCommand) Main.commandLine().parseArgs(expand(container(workers)).toArray(String[]::new))
        .subcommand().commandSpec().userObject();
    assertEquals(addresses.get(0), w.server, "the workers dial the coordinator");
    assertEquals(List.of(addresses.get(1)), w.rangeServers, "and server 1");
  }

  /**
   * make-secrets.sh, run with a kubectl that keeps the files it is given instead of sending them to
   * a cluster: the CA signed the certificate, which names each server of the sharded component
   * under the headless Service (what the coordinator and the workers dial), its key is its own in
   * the form gradflow reads, and the token is 256 random bits in hex.
   */
  @Test
  void makeSecretsIssuesOneCertificateForEveryServersName(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
    Prerequisites.need(Files.isExecutable(Path.of("/usr/bin/openssl")), "openssl is not installed: make-secrets.sh needs it");
    Path bin = Files.createDirectories(tmp.resolve("bin"));
    Path kept = tmp.resolve("kept");
    Path kubectl = bin.resolve("kubectl");
    // kubectl -n NS create secret generic NAME --from-file=F ...: copies each F into kept/NAME/
    Files.writeString(kubectl, "#!/bin/sh\nmkdir -p '" + kept + "'/\"$6\"\nfor a in \"$@\"; do\n"
        + "  case $a in --from-file=*) cp \"${a#--from-file=}\" '" + kept + "'/\"$6\"/ ;; esac\ndone\n");
    Files.setPosixFilePermissions(kubectl, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
    ProcessBuilder pb = new ProcessBuilder("sh", K8S.resolve("make-secrets.sh").toString(), "testns").redirectErrorStream(true);
    pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);

    Path tls = kept.resolve("gradflow-tls");
    java.security.cert.X509Certificate cert = JobSecurity.readCertificates("tls.crt", tls.resolve("tls.crt")).get(0);
    java.security.cert.X509Certificate ca = JobSecurity.readCertificates("ca.crt", tls.resolve("ca.crt")).get(0);
    cert.verify(ca.getPublicKey());
    List<String> names = cert.getSubjectAlternativeNames().stream().map(n -> String.valueOf(n.get(1))).toList();
    for (int server = 0; server < 2; server++) {
      for (String name : List.of("gradflow-ps-" + server + ".gradflow-ps", "gradflow-ps-" + server + ".gradflow-ps.testns.svc")) {
        assertTrue(names.contains(name), name + " in " + names);
      }
    }
    JobSecurity.checkKeyPair("--tls-cert", tls.resolve("tls.crt"), "--tls-key", tls.resolve("tls.key"));
    assertTrue(Files.readString(kept.resolve("gradflow-token").resolve("token")).strip().matches("[0-9a-f]{64}"));
  }

  private static ServerCommand parsedServer(Map<String, Object> job) {
    return (ServerCommand) Main.commandLine().parseArgs(expand(container(job)).toArray(String[]::new))
        .subcommand().commandSpec().userObject();
  }

  /** {@code kubectl kustomize DIR}, as documents. */
  private static List<Map<String, Object>> kustomize(Path dir) throws Exception {
    Process p = new ProcessBuilder("kubectl", "kustomize", dir.toString()).start();
    p.getOutputStream().close();
    byte[] out = p.getInputStream().readAllBytes();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "kubectl kustomize did not finish");
    assertEquals(0, p.exitValue(), "kubectl kustomize: " + err);
    List<Map<String, Object>> rendered = new ArrayList<>();
    for (Object o : yaml().loadAll(new String(out, StandardCharsets.UTF_8))) {
      rendered.add(map(o));
    }
    return rendered;
  }

  // --- checks against the CLI ---

  private static void checkAgainstCli(Map<String, Object> container, String command) {
    List<String> args = expand(container);
    assertEquals(command, args.get(0), "container " + container.get("name") + " runs 'gradflow " + command + "'");
    CommandLine sub = Main.commandLine().getSubcommands().get(command);
    assertNotNull(sub, "gradflow has a '" + command + "' command");
    List<String> parseable = new ArrayList<>(List.of(command));
    for (int i = 1; i < args.size(); i++) {
      String a = args.get(i);
      if (!a.startsWith("--")) {
        parseable.add(a);
        continue;
      }
      String flag = a.contains("=") ? a.substring(0, a.indexOf('=')) : a;
      OptionSpec option = sub.getCommandSpec().findOption(flag);
      if (option == null) {
        if (!PENDING_FLAGS.contains(flag)) {
          fail("the manifests pass " + flag + " to 'gradflow " + command + "', which has no such option");
        }
        if (!a.contains("=") && i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
          i++; // its value
        }
        continue;
      }
      parseable.add(a);
    }
    CommandLine.ParseResult parsed = assertDoesNotThrow(
        () -> Main.commandLine().parseArgs(parseable.toArray(String[]::new)),
        "'gradflow' rejects the manifest's arguments " + parseable);
    Object cmd = parsed.subcommand().commandSpec().userObject();
    if (cmd instanceof ServerCommand s) {
      // the job the kustomization describes is a valid one
      assertDoesNotThrow(() -> s.job.modelSpec());
      int microShards = assertDoesNotThrow(() -> s.job.trainingConfig().microShards());
      assertTrue(s.workers <= microShards, "GRADFLOW_WORKERS " + s.workers + " > GRADFLOW_MICRO_SHARDS " + microShards);
    }
  }

  /** The container's args with $(VAR) expanded from its env, as the kubelet does. */
  private static List<String> expand(Map<String, Object> container) {
    Map<String, String> env = new LinkedHashMap<>();
    for (Object e : list(container, "env")) {
      Map<String, Object> m = map(e);
      String name = (String) m.get("name");
      if (m.containsKey("value")) {
        env.put(name, String.valueOf(m.get("value")));
      } else {
        Map<String, Object> from = map(m.get("valueFrom"));
        if (from.containsKey("configMapKeyRef")) {
          String key = (String) map(from.get("configMapKeyRef")).get("key");
          assertTrue(literals.containsKey(key), name + ": the kustomization's ConfigMap has no " + key);
          env.put(name, literals.get(key));
        } else if (from.containsKey("fieldRef")) {
          env.put(name, "0");
        }
      }
    }
    List<String> out = new ArrayList<>();
    for (String a : args(container)) {
      Matcher m = VAR.matcher(a);
      StringBuilder sb = new StringBuilder();
      while (m.find()) {
        String value = env.get(m.group(1));
        assertNotNull(value, container.get("name") + ": $(" + m.group(1) + ") is not in the container's env");
        m.appendReplacement(sb, Matcher.quoteReplacement(value));
      }
      m.appendTail(sb);
      out.add(sb.toString());
    }
    return out;
  }

  // --- the documents ---

  private static Map<String, Object> doc(String kind) {
    return docs.stream().filter(d -> kind.equals(d.get("kind"))).findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " in the manifests"));
  }

  /** The Job whose pods run {@code gradflow server}. */
  private static Map<String, Object> serverJob() {
    return jobRunning("server");
  }

  /** The Job whose pods run {@code gradflow worker}. */
  private static Map<String, Object> workerJob() {
    return jobRunning("worker");
  }

  private static Map<String, Object> jobRunning(String command) {
    return docs.stream().filter(d -> "Job".equals(d.get("kind")))
        .filter(d -> command.equals(args(container(d)).get(0))).findFirst()
        .orElseThrow(() -> new AssertionError("no Job runs 'gradflow " + command + "'"));
  }

  private static Map<String, Object> serverContainer() {
    return container(serverJob());
  }

  private static Map<String, Object> workerContainer() {
    return container(workerJob());
  }

  /** The pod template's spec of a workload. */
  private static Map<String, Object> pod(Map<String, Object> workload) {
    return map(map(map(workload.get("spec")).get("template")).get("spec"));
  }

  private static Map<String, Object> container(Map<String, Object> workload) {
    Map<String, Object> pod = pod(workload);
    List<Object> containers = list(pod, "containers");
    assertEquals(1, containers.size(), name(workload) + " has one container");
    return map(containers.get(0));
  }

  private static List<String> args(Map<String, Object> container) {
    return list(container, "args").stream().map(String::valueOf).toList();
  }

  /** The value after {@code flag} in {@code args}, or null. */
  private static String valueOf(List<String> args, String flag) {
    for (int i = 0; i < args.size() - 1; i++) {
      if (args.get(i).equals(flag)) {
        return args.get(i + 1);
      }
    }
    return null;
  }

  /** The name of the volume mounted at the longest mount path that contains {@code file}. */
  private static String mountFor(Map<String, Object> container, String file) {
    String best = null;
    int bestLength = -1;
    for (Object o : list(container, "volumeMounts")) {
      Map<String, Object> m = map(o);
      String path = (String) m.get("mountPath");
      if ((file.equals(path) || file.startsWith(path.endsWith("/") ? path : path + "/")) && path.length() > bestLength) {
        best = (String) m.get("name");
        bestLength = path.length();
      }
    }
    assertNotNull(best, file + " is on no volume of container " + container.get("name"));
    return best;
  }

  private static String name(Map<String, Object> doc) {
    return (String) map(doc.get("metadata")).get("name");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object o) {
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Map<String, Object> m, String key) {
    Object o = m.get(key);
    return o == null ? List.of() : (List<Object>) o;
  }

  private static Yaml yaml() {
    return new Yaml(new SafeConstructor(new LoaderOptions()));
  }

  private static List<Map<String, Object>> loadAll(Path file) throws IOException {
    List<Map<String, Object>> out = new ArrayList<>();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      for (Object o : yaml().loadAll(r)) {
        if (o != null) {
          out.add(map(o));
        }
      }
    }
    return out;
  }

}
