// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "tongban",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tongban", targets: ["tongban"]),
        .library(name: "Kafka", targets: ["Kafka"]),
        .library(name: "Postgres", targets: ["Postgres"]),
        .library(name: "TongbanPublishing", targets: ["Publishing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/apple/swift-openapi-generator.git", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.4"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird.git", from: "2.1.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
    ],
    targets: [
        // C libraries, wrapped by the safe Swift layers below (README, "How the code is built").
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CQREncode", pkgConfig: "libqrencode", providers: [.apt(["libqrencode-dev"])]),

        // QR codes drawn as SVG, over libqrencode (the printable verification page carries one).
        .target(name: "QRCode", dependencies: ["CQREncode"], swiftSettings: swiftSettings),
        // Verifiable certificates: the hub's keys, Data Integrity proofs (eddsa-jcs-2022), the DID document and the
        // status lists (their tables and HTTP side are in APIServer).
        .target(
            name: "Certificates",
            dependencies: [
                "Events",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        .target(name: "TongbanConcurrency", swiftSettings: swiftSettings),
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                "TongbanConcurrency",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ",
                "TongbanConcurrency",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The files of schemas/ (event schemas, migrations, OpenAPI), embedded at build time so that
        // the binary uses exactly what the repository publishes.
        .executableTarget(name: "schema-embedder", swiftSettings: swiftSettings),
        .plugin(
            name: "EmbedSchemas", capability: .buildTool(), dependencies: ["schema-embedder"],
            path: "Sources/EmbedSchemasPlugin"),
        .target(name: "TongbanSchemas", swiftSettings: swiftSettings, plugins: ["EmbedSchemas"]),
        .target(
            name: "Events",
            dependencies: [
                "TongbanSchemas",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Publishing",
            dependencies: ["Events", "Kafka", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Projections",
            dependencies: [
                "Events", "Postgres", "Kafka", "TongbanSchemas",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The operations endpoint of the long-running commands: /metrics (Prometheus) and /health.
        .target(
            name: "Operations",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "SyntheticPopulation", dependencies: ["Events"], swiftSettings: swiftSettings),
        // The HTTP server of the certificate services: schemas/openapi.yaml (linked into the target) generates its
        // protocol and types at build time, so the file and the code cannot drift.
        .target(
            name: "APIServer",
            dependencies: [
                "API", "Events", "Postgres", "Projections", "Certificates", "QRCode",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        // What certificate services touch: their registered clients and access tokens, and the hash-chained audit
        // trail of every request (the HTTP server is built on these).
        .target(
            name: "API",
            dependencies: [
                "Events", "Postgres", "Projections", "TongbanConcurrency",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TongbanTesting",
            dependencies: [
                "Kafka", "Postgres", "Events", "Projections", "SyntheticPopulation",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "tongban",
            dependencies: [
                "Kafka",
                "Postgres",
                "Events",
                "SyntheticPopulation",
                "Publishing",
                "Projections",
                "Operations",
                "API",
                "APIServer",
                "Certificates",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "KafkaTests", dependencies: ["Kafka", "TongbanTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "EventsTests", dependencies: ["Events", "SyntheticPopulation", "TongbanTesting"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SyntheticPopulationTests", dependencies: ["SyntheticPopulation", "Events", "TongbanTesting"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "PublishingTests",
            dependencies: ["Publishing", "Events", "Kafka", "SyntheticPopulation", "TongbanTesting"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ProjectionsTests",
            dependencies: ["Projections", "Events", "Postgres", "SyntheticPopulation", "TongbanTesting"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "OperationsTests",
            dependencies: [
                "Operations", "TongbanTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "CertificatesTests",
            dependencies: [
                "Certificates", "QRCode", "Events", "Postgres", "TongbanTesting",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TongbanTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "APIServerTests",
            dependencies: [
                "APIServer", "API", "Certificates", "Events", "Kafka", "Postgres", "Projections", "Publishing",
                "SyntheticPopulation", "TongbanTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "APITests",
            dependencies: [
                "API", "Postgres", "Projections", "TongbanTesting",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "tongbanTests",
            dependencies: [
                "tongban", "API", "Events", "Kafka", "Postgres", "Projections", "SyntheticPopulation", "TongbanTesting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
