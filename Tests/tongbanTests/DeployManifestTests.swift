import APIServer
import ArgumentParser
import Events
import Foundation
import Operations
import Testing
import TongbanTesting

@testable import tongban

/// `deploy/`: the compose file parses with `docker-compose config`, the Kubernetes manifests parse and hold together,
/// and every subcommand, flag, environment variable, port, HTTP path, file and metric they (and the Dockerfile, the
/// Prometheus configuration and the Grafana dashboard) name is one the binary really has: checked against the built
/// `tongban … --help`, the real argument parser, the defaults in the code, the variables the sources and libpq read,
/// and the metric names the sources create.
@Suite("#21 deploy/: compose, Kubernetes, Dockerfile", .sharedMachine)
struct DeployManifestTests {
    /// The repository's root.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// `deploy/`.
    static let deploy = root.appendingPathComponent("deploy")
    /// The built `tongban` executable, next to the test bundle.
    static let binary = TongbanExecutable.path

    @Test("deploy/compose.yaml: `docker-compose config` accepts it, and it runs what the binary has")
    func compose() async throws {
        let environment = ProcessInfo.processInfo.environment.merging([
            "POSTGRES_PASSWORD": "only-for-the-test", "GRAFANA_ADMIN_PASSWORD": "only-for-the-test",
        ]) { _, new in new }
        let composeFile = Self.deploy.appendingPathComponent("compose.yaml").path
        let config: TestProcess.Result
        do {
            config = try await TestProcess.run(
                "/usr/bin/env", ["docker-compose", "-f", composeFile, "config"], environment: environment)
        } catch {
            Issue.record("docker-compose could not be run (Debian: apt-get install docker-compose): \(error)")
            return
        }
        try #require(
            config.status == 0,
            "docker-compose config refused deploy/compose.yaml (Debian: apt-get install docker-compose):\n\(config.errors)"
        )
        let document = try #require(await Self.yaml(text: config.output).first as? [String: Any])
        let services = try #require(document["services"] as? [String: [String: Any]])
        #expect(
            Set(services.keys)
                == [
                    "kafka", "kafka-topics", "postgres", "migrate", "projector-1", "projector-2", "api", "prometheus",
                    "grafana",
                ])
        let checker = try await Checker()
        let image = try await DockerfileImage()
        var problems: [String] = []
        var commands: [String: any ParsableCommand] = [:]
        var listening: [String: [Listener]] = [:]
        for (name, service) in services.sorted(by: { $0.key < $1.key }) {
            guard let build = service["build"] as? [String: Any] else { continue }
            let source = "compose service \(name)"
            if build["dockerfile"] as? String != "deploy/Dockerfile" {
                problems.append("\(source): builds \(build["dockerfile"] ?? "?"), not deploy/Dockerfile")
            }
            let arguments = (service["command"] as? [Any])?.compactMap { $0 as? String } ?? []
            var variables = image.environment
            for (key, value) in service["environment"] as? [String: Any] ?? [:] { variables[key] = "\(value)" }
            guard
                let command = await checker.check(
                    arguments, environment: variables, imageVariables: Set(image.environment.keys), in: source,
                    &problems)
            else { continue }
            commands[name] = command
            listening[name] = Checker.listeners(of: command, environment: variables)
            // Files the binary reads: a compose secret mounted at /run/secrets/<name>.
            let secrets = (service["secrets"] as? [[String: Any]] ?? []).map {
                "/run/secrets/" + (($0["target"] as? String) ?? ($0["source"] as? String ?? ""))
            }
            for (key, path) in Checker.files(in: variables) where !secrets.contains(path) {
                problems.append("\(source): \(key)=\(path) is not a secret mounted in the container (\(secrets))")
            }
            let volumes = (service["volumes"] as? [Any] ?? []).compactMap(Checker.volumeTarget)
            for (key, path) in Checker.directories(in: variables) where !volumes.contains(path) {
                problems.append("\(source): \(key)=\(path) is not a volume mounted in the container (\(volumes))")
            }
            // Published ports: the container side must be a port the command listens on, on every interface.
            for port in service["ports"] as? [Any] ?? [] {
                let target = Checker.containerPort(port)
                guard let listener = listening[name]?.first(where: { $0.port == target }) else {
                    problems.append("\(source): publishes \(port), but listens on \(listening[name] ?? [])")
                    continue
                }
                if !Checker.allInterfaces(listener.host) {
                    problems.append("\(source): \(listener) listens on \(listener.host) only: not reachable")
                }
            }
            // The database and Kafka are this file's own services.
            if variables["PGHOST"] != "postgres" || variables["PGPORT"] != "5432" {
                problems.append("\(source): PGHOST/PGPORT are not the postgres service's")
            }
            let postgres = services["postgres"]?["environment"] as? [String: Any] ?? [:]
            for (ours, theirs) in [("PGDATABASE", "POSTGRES_DB"), ("PGUSER", "POSTGRES_USER")]
            where variables[ours] != postgres[theirs].map({ "\($0)" }) {
                problems.append("\(source): \(ours) is not the postgres service's \(theirs)")
            }
            let advertised = (services["kafka"]?["environment"] as? [String: Any])?["KAFKA_ADVERTISED_LISTENERS"]
            let advertisedInternally = "\(advertised ?? "")".split(separator: ",").compactMap {
                $0.split(separator: "://").last.map(String.init)
            }.filter { $0.hasPrefix("kafka:") }
            if let servers = variables["KAFKA_BOOTSTRAP_SERVERS"], !advertisedInternally.contains(servers) {
                problems.append("\(source): KAFKA_BOOTSTRAP_SERVERS=\(servers) is not a listener Kafka advertises")
            }
        }
        #expect(commands.count == 4, "migrate, two projectors and the API")
        #expect(commands["migrate"] is MigrateCommand)
        #expect(commands["api"] is ServeCommand)

        // Two projectors in one consumer group and view group, migrations left to `migrate`.
        let projectors = commands.filter { $0.key.hasPrefix("projector-") }.values.compactMap { $0 as? ProjectCommand }
        #expect(projectors.count == 2)
        #expect(Set(projectors.map(\.group)).count == 1 && Set(projectors.map(\.viewGroup)).count == 1)
        #expect(projectors.allSatisfy { !$0.migrate }, "the projectors start with --no-migrate after `migrate`")

        // The topics the one-shot service creates: every department topic and the dead-letter topic.
        let catalog = try EventCatalog.embedded()
        let creation = ((services["kafka-topics"]?["command"] as? [Any]) ?? []).map { "\($0)" }.joined(separator: " ")
        for topic in Set(catalog.topics.values).union([catalog.deadLetterTopic])
        where ![" ", ";", "\n"].contains(where: { creation.contains(topic + $0) }) {
            problems.append("kafka-topics does not create \(topic)")
        }

        // Prometheus scrapes every long-running tongban service on its metrics port and a path it serves.
        let prometheus = try #require(
            try await Self.yaml(file: Self.deploy.appendingPathComponent("prometheus/prometheus.yml")).first
                as? [String: Any])
        var scraped: Set<String> = []
        for job in prometheus["scrape_configs"] as? [[String: Any]] ?? [] {
            let path = job["metrics_path"] as? String ?? "/metrics"
            for target in (job["static_configs"] as? [[String: Any]] ?? []).flatMap({ $0["targets"] as? [String] ?? [] }
            ) {
                let parts = target.split(separator: ":")
                guard parts.count == 2, let service = services[String(parts[0])], service["build"] != nil else {
                    continue
                }
                let name = String(parts[0])
                scraped.insert(name)
                guard let listener = listening[name]?.first(where: { $0.name == "metrics" }) else {
                    problems.append("prometheus scrapes \(target), which serves no /metrics")
                    continue
                }
                if Int(parts[1]) != listener.port { problems.append("prometheus scrapes \(target), not \(listener)") }
                if let command = commands[name], !(await checker.paths(of: command)).contains(path) {
                    problems.append("prometheus scrapes \(path) of \(name), which does not serve it")
                }
            }
        }
        let longRunning = Set(listening.filter { $0.value.contains { $0.name == "metrics" } }.keys)
        #expect(scraped == longRunning, "scraped \(scraped.sorted()), serving /metrics \(longRunning.sorted())")
        for rules in prometheus["rule_files"] as? [String] ?? [] {
            let local = Self.deploy.appendingPathComponent(
                "prometheus/" + rules.replacingOccurrences(of: "/etc/prometheus/", with: ""))
            if !FileManager.default.fileExists(atPath: local.path) { problems.append("no \(local.path) for \(rules)") }
        }
        #expect(problems.isEmpty, "\n\(problems.joined(separator: "\n"))")
    }

    @Test("deploy/kubernetes: every manifest parses and holds together, and runs what the binary has")
    func kubernetes() async throws {
        let directory = Self.deploy.appendingPathComponent("kubernetes")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }
            .sorted()
        var documents: [(file: String, object: [String: Any])] = []
        var problems: [String] = []
        for file in files {
            for (index, document) in try await Self.yaml(file: directory.appendingPathComponent(file)).enumerated() {
                guard let object = document as? [String: Any] else {
                    problems.append("\(file) #\(index + 1): not a mapping")
                    continue
                }
                documents.append((file, object))
            }
        }
        let kinds: [String: String] = [
            "Deployment": "apps/v1", "Service": "v1", "ConfigMap": "v1", "Secret": "v1", "Namespace": "v1",
            "Job": "batch/v1", "PodDisruptionBudget": "policy/v1", "NetworkPolicy": "networking.k8s.io/v1",
            "Kustomization": "kustomize.config.k8s.io/v1beta1",
        ]
        func named(_ kind: String) -> [String: [String: Any]] {
            Dictionary(
                documents.filter { $0.object["kind"] as? String == kind }.map {
                    (($0.object["metadata"] as? [String: Any])?["name"] as? String ?? "", $0.object)
                }, uniquingKeysWith: { first, _ in first })
        }
        for (file, object) in documents {
            let kind = object["kind"] as? String ?? ""
            let name = (object["metadata"] as? [String: Any])?["name"] as? String ?? ""
            if name.isEmpty { problems.append("\(file): a \(kind) without metadata.name") }
            guard let version = kinds[kind] else {
                problems.append("\(file): \(name) has no kind this test knows (\(kind))")
                continue
            }
            if object["apiVersion"] as? String != version {
                problems.append(
                    "\(file): \(kind) \(name) has apiVersion \(object["apiVersion"] ?? "none"), not \(version)")
            }
        }
        // kustomization.yaml lists every manifest but itself and the Secrets' example.
        let kustomization = try #require(named("Kustomization").values.first)
        let resources = Set(kustomization["resources"] as? [String] ?? [])
        #expect(resources == Set(files).subtracting(["kustomization.yaml", "secrets.example.yaml"]))

        let secrets = named("Secret").mapValues {
            Set((($0["stringData"] ?? $0["data"]) as? [String: Any] ?? [:]).keys)
        }
        let configMaps = named("ConfigMap").mapValues { $0["data"] as? [String: Any] ?? [:] }
        let checker = try await Checker()
        let image = try await DockerfileImage()
        var podLabels: [[String: String]] = []
        var podPorts: [String] = []
        var checked = 0
        for kind in ["Deployment", "Job"] {
            for (name, workload) in named(kind) {
                let source = "\(kind) \(name)"
                let spec = workload["spec"] as? [String: Any] ?? [:]
                let template = spec["template"] as? [String: Any] ?? [:]
                let labels = (template["metadata"] as? [String: Any])?["labels"] as? [String: String] ?? [:]
                podLabels.append(labels)
                if kind == "Deployment" {
                    let selector = (spec["selector"] as? [String: Any])?["matchLabels"] as? [String: String] ?? [:]
                    if selector.isEmpty || !selector.allSatisfy({ labels[$0.key] == $0.value }) {
                        problems.append("\(source): the selector \(selector) does not match the pods' labels \(labels)")
                    }
                }
                let pod = template["spec"] as? [String: Any] ?? [:]
                if kind == "Job", !["OnFailure", "Never"].contains(pod["restartPolicy"] as? String ?? "") {
                    problems.append("\(source): a Job's pods need restartPolicy OnFailure or Never")
                }
                let volumes = Dictionary(
                    (pod["volumes"] as? [[String: Any]] ?? []).map { ($0["name"] as? String ?? "", $0) },
                    uniquingKeysWith: { first, _ in first })
                for (volumeName, volume) in volumes {
                    if let secret = (volume["secret"] as? [String: Any])?["secretName"] as? String,
                        secrets[secret] == nil
                    {
                        problems.append("\(source): volume \(volumeName) mounts the Secret \(secret), declared nowhere")
                    }
                    if let map = (volume["configMap"] as? [String: Any])?["name"] as? String, configMaps[map] == nil {
                        problems.append("\(source): volume \(volumeName) mounts the ConfigMap \(map), declared nowhere")
                    }
                }
                let containers =
                    (pod["initContainers"] as? [[String: Any]] ?? []).map { ($0, true) }
                    + (pod["containers"] as? [[String: Any]] ?? []).map { ($0, false) }
                for (container, isInit) in containers {
                    let containerName = container["name"] as? String ?? "?"
                    let source = "\(source) container \(containerName)"
                    let ports = Dictionary(
                        (container["ports"] as? [[String: Any]] ?? []).map {
                            ($0["name"] as? String ?? "", $0["containerPort"] as? Int ?? -1)
                        }, uniquingKeysWith: { first, _ in first })
                    podPorts += ports.keys
                    let mounts = (container["volumeMounts"] as? [[String: Any]] ?? []).map {
                        (path: $0["mountPath"] as? String ?? "", volume: $0["name"] as? String ?? "")
                    }
                    for mount in mounts where volumes[mount.volume] == nil {
                        problems.append("\(source): mounts the volume \(mount.volume), which the pod does not have")
                    }
                    guard (container["image"] as? String)?.contains("tongban") == true else { continue }
                    if container["command"] != nil { problems.append("\(source): overrides the image's entrypoint") }
                    // The environment: ConfigMaps, then the container's own list; Secrets and ConfigMaps must exist
                    // with the keys named.
                    var variables = image.environment
                    for from in container["envFrom"] as? [[String: Any]] ?? [] {
                        if let map = (from["configMapRef"] as? [String: Any])?["name"] as? String {
                            guard let data = configMaps[map] else {
                                problems.append("\(source): envFrom names the ConfigMap \(map), declared nowhere")
                                continue
                            }
                            for (key, value) in data { variables[key] = "\(value)" }
                        } else {
                            problems.append("\(source): envFrom other than a ConfigMap: \(from)")
                        }
                    }
                    for entry in container["env"] as? [[String: Any]] ?? [] {
                        let key = entry["name"] as? String ?? ""
                        if let value = entry["value"] { variables[key] = "\(value)" }
                        let from = entry["valueFrom"] as? [String: Any] ?? [:]
                        if let reference = from["secretKeyRef"] as? [String: Any] {
                            let secret = reference["name"] as? String ?? ""
                            let secretKey = reference["key"] as? String ?? ""
                            if secrets[secret]?.contains(secretKey) != true {
                                problems.append("\(source): \(key) reads \(secret)/\(secretKey), declared nowhere")
                            }
                            variables[key] = "(from the Secret \(secret))"
                        } else if entry["value"] == nil {
                            problems.append("\(source): \(key) has neither a value nor a secretKeyRef")
                        }
                    }
                    let arguments = (container["args"] as? [Any] ?? []).compactMap { $0 as? String }
                    guard
                        let command = await checker.check(
                            arguments, environment: variables, imageVariables: Set(image.environment.keys), in: source,
                            &problems)
                    else { continue }
                    checked += 1
                    // Files: inside a volume of this container, named as a key of the Secret or ConfigMap mounted;
                    // folders: a volume of their own.
                    for (key, path) in Checker.directories(in: variables)
                    where !mounts.contains(where: { $0.path == path }) {
                        problems.append("\(source): \(key)=\(path) is no volume mounted in the container")
                    }
                    for (key, path) in Checker.files(in: variables) {
                        let file = URL(fileURLWithPath: path)
                        guard let mount = mounts.first(where: { $0.path == file.deletingLastPathComponent().path }),
                            let volume = volumes[mount.volume]
                        else {
                            problems.append("\(source): \(key)=\(path) is in no volume mounted in the container")
                            continue
                        }
                        let secret = (volume["secret"] as? [String: Any])?["secretName"] as? String
                        let map = (volume["configMap"] as? [String: Any])?["name"] as? String
                        let keys = secret.flatMap { secrets[$0] } ?? map.flatMap { configMaps[$0].map { Set($0.keys) } }
                        if keys?.contains(file.lastPathComponent) != true {
                            problems.append("\(source): \(key)=\(path): the volume holds no \(file.lastPathComponent)")
                        }
                    }
                    // Ports and probes: what the command serves, where it listens.
                    let listeners = Checker.listeners(of: command, environment: variables)
                    if isInit && !listeners.isEmpty { problems.append("\(source): an init container that never ends") }
                    for listener in listeners {
                        if ports[listener.name] != listener.port {
                            problems.append("\(source): \(listener), but the port named \(listener.name) is \(ports)")
                        }
                        if !Checker.allInterfaces(listener.host) {
                            problems.append("\(source): \(listener) on \(listener.host) only: not reachable")
                        }
                    }
                    if let metrics = listeners.first(where: { $0.name == "metrics" }) {
                        let annotations = (template["metadata"] as? [String: Any])?["annotations"] as? [String: String]
                        if annotations?["prometheus.io/port"] != String(metrics.port)
                            || annotations?["prometheus.io/scrape"] != "true"
                        {
                            problems.append("\(source): Prometheus' annotations do not name port \(metrics.port)")
                        }
                        let served = await checker.paths(of: command)
                        if let path = annotations?["prometheus.io/path"], !served.contains(path) {
                            problems.append("\(source): Prometheus scrapes \(path), which is not served")
                        }
                        // Liveness never depends on Kafka or PostgreSQL; readiness does.
                        let expected = [
                            "livenessProbe": "/health/live", "readinessProbe": "/health/ready",
                            "startupProbe": "/health/live",
                        ]
                        for (probe, path) in expected {
                            guard let get = (container[probe] as? [String: Any])?["httpGet"] as? [String: Any] else {
                                if probe != "startupProbe" { problems.append("\(source): no \(probe)") }
                                continue
                            }
                            if get["path"] as? String != path || !served.contains(path) {
                                problems.append("\(source): \(probe) asks \(get["path"] ?? "?"), not \(path)")
                            }
                            let port = get["port"].map { "\($0)" } ?? ""
                            if port != metrics.name && port != String(metrics.port) {
                                problems.append("\(source): \(probe) asks port \(port), not \(metrics)")
                            }
                        }
                    } else if !isInit && container["readinessProbe"] != nil {
                        problems.append("\(source): a readiness probe on a command that serves no /health/ready")
                    }
                }
            }
        }
        #expect(checked == 5, "the migration Job, two init containers, the projector and the API")
        for (name, service) in named("Service") {
            let spec = service["spec"] as? [String: Any] ?? [:]
            let selector = spec["selector"] as? [String: String] ?? [:]
            if !podLabels.contains(where: { labels in selector.allSatisfy { labels[$0.key] == $0.value } }) {
                problems.append("Service \(name): the selector \(selector) matches no pod")
            }
            for port in spec["ports"] as? [[String: Any]] ?? [] {
                if let target = port["targetPort"] as? String, !podPorts.contains(target) {
                    problems.append("Service \(name): targetPort \(target) is no container's port")
                }
            }
        }
        for (name, policy) in named("NetworkPolicy") {
            let rules = ((policy["spec"] as? [String: Any])?["ingress"] as? [[String: Any]]) ?? []
            for port in rules.flatMap({ $0["ports"] as? [[String: Any]] ?? [] }) {
                if let target = port["port"] as? String, !podPorts.contains(target) {
                    problems.append("NetworkPolicy \(name): port \(target) is no container's port")
                }
            }
        }
        #expect(problems.isEmpty, "\n\(problems.joined(separator: "\n"))")
    }

    @Test("deploy/Dockerfile links, ports and variables; dashboards and alerts name only metrics the code creates")
    func dockerfileAndDashboards() async throws {
        let image = try await DockerfileImage()
        let checker = try await Checker()
        var problems: [String] = []
        #expect(image.entrypoint == ["/usr/local/bin/tongban"])
        #expect(image.copiesBinary, "the run stage copies the build's tongban to /usr/local/bin/tongban")
        let defaults = [OperationsServer.Configuration().port, CertificateServicesServer.Configuration().port]
        #expect(Set(image.exposed) == Set(defaults), "EXPOSE \(image.exposed), the binary's defaults \(defaults)")
        for key in image.environment.keys where !checker.variables.contains(key) {
            problems.append("Dockerfile: ENV \(key) is read nowhere in the code")
        }
        #expect(
            image.environment["TONGBAN_API_HOST"] == "0.0.0.0" && image.environment["TONGBAN_METRICS_HOST"] == "0.0.0.0"
        )

        // Each library the binary needs (outside the Swift toolchain, linked statically in the image) comes from a
        // Debian package the run stage installs, or one debian:bookworm-slim has.
        let base: Set<String> = ["libc6", "libgcc-s1", "zlib1g"]
        let needed = try await Self.neededLibraries()
        try #require(needed.contains("librdkafka.so.1") && needed.contains("libpq.so.5"), "\(needed)")
        for library in needed {
            let owners = try await TestProcess.run("/usr/bin/env", ["dpkg-query", "-S", "*/" + library])
            let packages = Set(
                owners.output.split(separator: "\n").compactMap { line -> String? in
                    guard line.hasSuffix("/" + library), let colon = line.firstIndex(of: ":") else { return nil }
                    return String(line[..<colon])
                })
            if packages.isEmpty {
                problems.append("no Debian package holds \(library)")
            } else if packages.isDisjoint(with: image.runPackages.union(base)) {
                problems.append("the run stage installs none of \(packages.sorted()) (for \(library))")
            }
        }
        // The build stage installs every system library's development package that Package.swift names.
        let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        for match in manifest.matches(of: /\.apt\(\["([a-z0-9.+-]+)"\]\)/)
        where !image.buildPackages.contains(String(match.1)) {
            problems.append("the build stage does not install \(match.1) (Package.swift)")
        }

        // Dashboards and alerts: every tongban_* metric is one the code creates (histograms with their series), every
        // label one it sets (or Prometheus adds).
        let dashboardURL = Self.deploy.appendingPathComponent("grafana/dashboards/tongban.json")
        let dashboard = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: dashboardURL)) as? [String: Any])
        let datasources = try await Self.yaml(
            file: Self.deploy.appendingPathComponent("grafana/provisioning/datasources/prometheus.yaml"))
        let uid = ((datasources.first as? [String: Any])?["datasources"] as? [[String: Any]])?.first?["uid"] as? String
        var expressions: [String] = []
        for panel in dashboard["panels"] as? [[String: Any]] ?? [] {
            let source = (panel["datasource"] as? [String: Any])?["uid"] as? String
            if panel["type"] as? String != "row" && source != uid {
                problems.append(
                    "dashboard panel \(panel["title"] ?? "?") uses datasource \(source ?? "none"), not \(uid ?? "?")")
            }
            expressions += (panel["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String }
        }
        let alerts = try await Self.yaml(file: Self.deploy.appendingPathComponent("prometheus/alerts.yml"))
        for group in ((alerts.first as? [String: Any])?["groups"] as? [[String: Any]]) ?? [] {
            expressions += (group["rules"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String }
        }
        try #require(expressions.count > 20)
        let metrics = try Self.metrics()
        var named: Set<String> = []
        for expression in expressions {
            for match in expression.matches(of: /tongban_[a-z_]+/) {
                let name = String(match.0)
                named.insert(name)
                let base = name.replacing(/_(bucket|sum|count)$/, with: "")
                if !metrics.names.contains(name) && !(metrics.histograms.contains(base) && base != name) {
                    problems.append("the query \(expression) names \(name), which the code does not create")
                }
            }
            for match in expression.matches(of: /\b(?:by|without) \(([a-z_, ]+)\)/) {
                for label in match.1.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) })
                where !metrics.labels.union(["le", "instance", "job"]).contains(label) {
                    problems.append("the query \(expression) groups by \(label), a label no metric has")
                }
            }
            for match in expression.matches(of: /([a-z_]+)=~?"/)
            where !metrics.labels.union(["job"]).contains(String(match.1)) {
                problems.append("the query \(expression) selects on \(match.1), a label no metric has")
            }
        }
        let unused = metrics.names.subtracting(named.map { $0.replacing(/_(bucket|sum|count)$/, with: "") })
        #expect(unused.isEmpty, "metrics no panel or alert shows: \(unused.sorted())")
        #expect(problems.isEmpty, "\n\(problems.joined(separator: "\n"))")
    }

    // MARK: - Reading files

    /// Parses YAML with Python's yaml (every document of a stream), through JSON.
    static func yaml(file: URL) async throws -> [Any] {
        try await yaml(text: String(contentsOf: file, encoding: .utf8))
    }

    /// Parses YAML text with Python's yaml (every document of a stream), through JSON.
    static func yaml(text: String) async throws -> [Any] {
        let script = "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(sys.stdin)), default=str))"
        let result = try await TestProcess.run("/usr/bin/env", ["python3", "-c", script], input: text)
        try #require(result.status == 0, "python3 with yaml could not parse it: \(result.errors)")
        return try #require(JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [Any])
    }

    /// The shared libraries the built binary names (NEEDED), except the Swift toolchain's own.
    static func neededLibraries() async throws -> [String] {
        let dynamic = try await TestProcess.run("/usr/bin/env", ["readelf", "-d", binary])
        try #require(dynamic.status == 0, "readelf -d \(binary): \(dynamic.errors)")
        let resolved = try await TestProcess.run("/usr/bin/env", ["ldd", binary])
        let paths = Dictionary(
            resolved.output.split(separator: "\n").compactMap { line -> (String, String)? in
                let parts = line.split(separator: " ")
                guard parts.count >= 3, parts[1] == "=>" else { return nil }
                return (parts[0].trimmingCharacters(in: .whitespaces), String(parts[2]))
            }, uniquingKeysWith: { first, _ in first })
        return dynamic.output.matches(of: /\(NEEDED\)\s+Shared library: \[([^\]]+)\]/).map { String($0.1) }.filter {
            !(paths[$0]?.contains("/swift/") ?? false) && !$0.hasPrefix("ld-linux")
        }
    }

    /// The metrics the code creates: their names, those that are histograms (timers and recorders) and their labels.
    static func metrics() throws -> (names: Set<String>, histograms: Set<String>, labels: Set<String>) {
        var names: Set<String> = []
        var histograms: Set<String> = []
        var labels: Set<String> = []
        for file in ["Sources/Projections/ProjectorMetrics.swift", "Sources/APIServer/RequestMetricsMiddleware.swift"] {
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: /"(tongban_[a-z_]+)"/) {
                let name = String(match.1)
                names.insert(name)
                if name.hasSuffix("_seconds") || name.hasSuffix("_events") { histograms.insert(name) }
            }
            for match in text.matches(of: /\("([a-z_]+)", [a-zA-Z.()]+\)/) { labels.insert(String(match.1)) }
        }
        return (names, histograms, labels)
    }
}

/// Where a command listens: the API or the operations endpoint.
struct Listener: CustomStringConvertible {
    /// `http` (the API) or `metrics` (the operations endpoint), as the manifests name the ports.
    var name: String
    var host: String
    var port: Int
    var description: String { "\(name) on \(host):\(port)" }
}

/// Checks invocations of the binary against its `--help`, its parser, and the variables the code reads (one test uses
/// one checker: it is not shared between tasks).
final class Checker {
    /// Every environment variable the sources read, and every one libpq (as linked) reads.
    let variables: Set<String>
    /// libpq's variables.
    let libpqVariables: Set<String>
    private var helps: [[String]: String] = [:]

    init() async throws {
        let sources = DeployManifestTests.root.appendingPathComponent("Sources")
        var variables = Set(GlobalOptions.databaseVariables)
        let files = FileManager.default.enumerator(atPath: sources.path)?.compactMap { $0 as? String } ?? []
        for file in files where file.hasSuffix(".swift") && !file.hasPrefix("TongbanTesting/") {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: /(?:environment|getenv)[\[(]"([A-Z][A-Z0-9_]*)"[\])]/) {
                variables.insert(String(match.1))
            }
        }
        // libpq's own variables, read off the library the binary links (its strings PGHOST, PGSSLMODE, …).
        let ldd = try await TestProcess.run("/usr/bin/env", ["ldd", DeployManifestTests.binary])
        let libpq = try #require(
            ldd.output.split(separator: "\n").first { $0.contains("libpq.so") }?.split(separator: " ").dropFirst(2)
                .first,
            "the binary links no libpq")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: String(libpq)))
        var libpqVariables: Set<String> = []
        for piece in bytes.split(separator: 0) where piece.count < 40 && piece.first == UInt8(ascii: "P") {
            let text = String(decoding: piece, as: UTF8.self)
            if text.wholeMatch(of: /PG[A-Z_]+/) != nil && !text.hasPrefix("PGRES_") { libpqVariables.insert(text) }
        }
        try #require(libpqVariables.isSuperset(of: ["PGHOST", "PGPASSWORD", "PGSSLMODE", "PGSSLROOTCERT"]))
        self.libpqVariables = libpqVariables
        self.variables = variables.union(libpqVariables)
    }

    /// `tongban PATH… --help`, run once per path.
    func help(_ path: [String]) async throws -> String {
        if let known = helps[path] { return known }
        let result = try await TestProcess.run(DeployManifestTests.binary, path + ["--help"])
        try #require(result.status == 0, "tongban \(path.joined(separator: " ")) --help: \(result.errors)")
        helps[path] = result.output
        return result.output
    }

    /// The subcommands a help text lists.
    static func subcommands(_ help: String) -> Set<String> {
        guard let section = help.range(of: "SUBCOMMANDS:") else { return [] }
        return Set(help[section.upperBound...].matches(of: /\n  ([a-z][a-z-]*)/).map { String($0.1) })
    }

    /// The flags a help text lists (both forms of `--x/--no-x`).
    static func flags(_ help: String) -> Set<String> {
        var flags: Set<String> = []
        for match in help.matches(of: /\n  (?:-[a-z], )?(--[a-z0-9-]+)(?:\/(--[a-z0-9-]+))?/) {
            flags.insert(String(match.1))
            if let other = match.2 { flags.insert(String(other)) }
        }
        return flags
    }

    /// The HTTP paths a command's help says it serves.
    func paths(of command: any ParsableCommand) async -> Set<String> {
        let name = type(of: command).configuration.commandName ?? ""
        let help = (try? await help([name])) ?? ""
        return Set(help.matches(of: /\/(?:metrics|health(?:\/live|\/ready)?)/).map { String($0.0) })
    }

    /// Checks one invocation: it names a runnable subcommand, only flags its help lists, parses with the real parser,
    /// and sets only variables that command reads (the image's own, `imageVariables`, are checked on their own).
    /// Problems are appended, named after `source`.
    /// - Returns: the parsed command, or `nil` when it is not one.
    func check(
        _ arguments: [String], environment: [String: String], imageVariables: Set<String>, in source: String,
        _ problems: inout [String]
    ) async -> (any ParsableCommand)? {
        var path: [String] = []
        var help: String
        do {
            help = try await self.help([])
            for argument in arguments where !argument.hasPrefix("-") {
                guard Self.subcommands(help).contains(argument) else { break }
                path.append(argument)
                help = try await self.help(path)
            }
        } catch {
            problems.append("\(source): \(error)")
            return nil
        }
        guard !path.isEmpty, Self.subcommands(help).isEmpty else {
            problems.append("\(source): runs `tongban \(arguments.joined(separator: " "))`, not a command of tongban")
            return nil
        }
        let flags = Self.flags(help)
        for argument in arguments where argument.hasPrefix("--") {
            let flag = String(argument.prefix { $0 != "=" })
            if !flags.contains(flag) {
                problems.append("\(source): tongban \(path.joined(separator: " ")) has no \(flag)")
            }
        }
        let command: any ParsableCommand
        do {
            command = try Tongban.parseAsRoot(arguments)
        } catch {
            problems.append("\(source): `tongban \(arguments.joined(separator: " "))` does not parse: \(error)")
            return nil
        }
        // Variables: read by the code, and named by this command's help (libpq's where it says PG*), or only the
        // source of another variable's $(…) in the same container.
        let mentioned = Set(help.matches(of: /[A-Z][A-Z0-9_]{2,}/).map { String($0.0) })
        let referenced = Set(environment.values.flatMap { $0.matches(of: /\$\(([A-Z0-9_]+)\)/).map { String($0.1) } })
        for key in environment.keys.sorted() where !referenced.contains(key) && !imageVariables.contains(key) {
            let read = variables.contains(key)
            let forThisCommand = mentioned.contains(key) || (libpqVariables.contains(key) && help.contains("PG*"))
            if !read || !forThisCommand {
                problems.append(
                    "\(source): sets \(key), which tongban \(path.joined(separator: " ")) does not read"
                        + (read ? " (another command does)" : ""))
            }
        }
        for (key, value) in environment where key.hasSuffix("_PORT") && key.hasPrefix("TONGBAN_") && Int(value) == nil {
            problems.append("\(source): \(key)=\(value) is not a port number")
        }
        return command
    }

    /// The ports a parsed command listens on, with the host: its flags, else the container's variables, else the
    /// code's defaults.
    static func listeners(of command: any ParsableCommand, environment: [String: String]) -> [Listener] {
        func operations(_ options: OperationsOptions) -> [Listener] {
            guard options.metrics else { return [] }
            let defaults = OperationsServer.Configuration()
            return [
                Listener(
                    name: "metrics",
                    host: options.metricsHost ?? environment["TONGBAN_METRICS_HOST"] ?? defaults.host,
                    port: options.metricsPort ?? environment["TONGBAN_METRICS_PORT"].flatMap { Int($0) }
                        ?? defaults.port)
            ]
        }
        if let project = command as? ProjectCommand { return operations(project.operations) }
        if let serve = command as? ServeCommand {
            let defaults = CertificateServicesServer.Configuration()
            return [
                Listener(
                    name: "http", host: serve.host ?? environment["TONGBAN_API_HOST"] ?? defaults.host,
                    port: serve.port ?? environment["TONGBAN_API_PORT"].flatMap { Int($0) } ?? defaults.port)
            ] + operations(serve.operations)
        }
        return []
    }

    /// Whether a bind address is every interface (reachable from outside the container).
    static func allInterfaces(_ host: String) -> Bool { ["0.0.0.0", "::", "[::]"].contains(host) }

    /// The container port of a compose `ports` entry (long syntax after `config`, or short).
    static func containerPort(_ entry: Any) -> Int? {
        if let long = entry as? [String: Any] { return long["target"] as? Int }
        return "\(entry)".split(separator: ":").last.flatMap { Int($0.split(separator: "/")[0]) }
    }

    /// The variables whose values are folders the binary reads, with their paths.
    static func directories(in environment: [String: String]) -> [(String, String)] {
        ["TONGBAN_HUB_KEYS"].compactMap { key in environment[key].map { (key, $0) } }
    }

    /// The container side of a compose `volumes` entry (short syntax after `config`, or long).
    static func volumeTarget(_ entry: Any) -> String? {
        if let long = entry as? [String: Any] { return long["target"] as? String }
        let parts = "\(entry)".split(separator: ":")
        return parts.count >= 2 ? String(parts[1]) : nil
    }

    /// The variables whose values are files the binary (or libpq, or librdkafka) opens, with their paths.
    static func files(in environment: [String: String]) -> [(String, String)] {
        var files: [(String, String)] = []
        for key in [
            "TONGBAN_DEPARTMENT_KEYS", "TONGBAN_TOKEN_KEY", "TONGBAN_CITIZEN_JWKS", "PGSSLROOTCERT", "PGPASSFILE",
        ] {
            if let path = environment[key] { files.append((key, path)) }
        }
        for property in (environment["KAFKA_PROPERTIES"] ?? "").split(separator: ";") {
            let parts = property.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0].hasSuffix(".location") {
                files.append(("KAFKA_PROPERTIES \(parts[0])", String(parts[1])))
            }
        }
        return files
    }
}

/// What deploy/Dockerfile's run stage sets up.
struct DockerfileImage: Sendable {
    var environment: [String: String] = [:]
    var exposed: [Int] = []
    var entrypoint: [String] = []
    var runPackages: Set<String> = []
    var buildPackages: Set<String> = []
    var copiesBinary = false

    init() async throws {
        let text = try String(
            contentsOf: DeployManifestTests.deploy.appendingPathComponent("Dockerfile"), encoding: .utf8)
        // Instructions, with continuation lines joined and comments dropped.
        var instructions: [String] = []
        var current = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("#") { continue }
            if trimmed.hasSuffix("\\") {
                current += trimmed.dropLast() + " "
                continue
            }
            current += trimmed
            if !current.isEmpty { instructions.append(current) }
            current = ""
        }
        let stages = instructions.indices.filter { instructions[$0].hasPrefix("FROM ") }
        let run = stages.last ?? 0
        for (index, instruction) in instructions.enumerated() {
            let words = instruction.split(separator: " ").map(String.init)
            if instruction.contains("apt-get install") {
                let packages = words.filter { $0.wholeMatch(of: /[a-z0-9][a-z0-9.+-]+/) != nil }.filter {
                    !["apt-get", "install", "update", "rm", "useradd", "tongban", "run", "debian_frontend"].contains($0)
                }
                if index > run { runPackages.formUnion(packages) } else { buildPackages.formUnion(packages) }
            }
            guard index > run else { continue }
            switch words.first {
            case "ENV":
                for assignment in words.dropFirst() {
                    let parts = assignment.split(separator: "=", maxSplits: 1)
                    if parts.count == 2 { environment[String(parts[0])] = String(parts[1]) }
                }
            case "EXPOSE": exposed += words.dropFirst().compactMap { Int($0) }
            case "ENTRYPOINT":
                let list = instruction.dropFirst("ENTRYPOINT".count).trimmingCharacters(in: .whitespaces)
                entrypoint = (try? JSONSerialization.jsonObject(with: Data(list.utf8)) as? [String]) ?? []
            case "COPY": copiesBinary = copiesBinary || instruction.hasSuffix(" /usr/local/bin/tongban")
            default: break
            }
        }
    }
}
