// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "Tandem",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tandemd", targets: ["tandemd"]),
        .executable(name: "tandem", targets: ["tandem"]),
        .executable(name: "tandem-agent", targets: ["tandem-agent"]),
        // For the libFuzzer package in fuzz/ only.
        .library(name: "TandemFuzzing", targets: ["TandemFuzzing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-ssh.git", from: "0.15.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        .systemLibrary(name: "CLibSSH", pkgConfig: "libssh", providers: [.apt(["libssh-dev"])]),
        .target(name: "CPTY", swiftSettings: []),
        .target(name: "LibSSH", dependencies: ["CLibSSH"], swiftSettings: strict),
        .target(name: "TandemText", swiftSettings: strict),
        .target(name: "TandemCore", dependencies: [
            "TandemText",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .target(name: "TandemAudit", dependencies: [
            "TandemText",
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: strict),
        // The typed requests and answers shared by the broker's adapters and its clients.
        .target(name: "TandemAPI", dependencies: ["TandemCore", "TandemAudit"], swiftSettings: strict),
        .target(name: "TandemStore", dependencies: [
            "TandemCore", "TandemAudit",
            .product(name: "SQLKit", package: "sql-kit"),
            .product(name: "SQLiteKit", package: "sqlite-kit"),
            .product(name: "PostgresKit", package: "postgres-kit"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        // The helpdesks a ticket's record is posted to: Request Tracker, Redmine, signed webhooks.
        .target(name: "TandemHelpdesk", dependencies: [
            "TandemAPI", "TandemAudit", "TandemText",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .target(name: "TandemBroker", dependencies: [
            "TandemAPI", "TandemCore", "TandemStore", "TandemAudit", "TandemText", "TandemHelpdesk",
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOSSH", package: "swift-nio-ssh"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Configuration", package: "swift-configuration"),
        ], swiftSettings: strict),
        .target(name: "TandemAgent", dependencies: [
            "TandemCore", "LibSSH", "CPTY", "TandemText",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: strict),
        .target(name: "TandemCLI", dependencies: [
            "TandemAPI", "TandemCore", "LibSSH", "CPTY", "TandemAudit", "TandemText",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: strict),
        .target(name: "TandemFuzzing", dependencies: [
            "TandemCore", "TandemAudit", "TandemBroker", "TandemText", "TandemAPI", "TandemHelpdesk",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ], swiftSettings: strict),
        .executableTarget(name: "tandemd", dependencies: [
            "TandemBroker", "TandemCore", "TandemStore", "TandemAudit", "TandemHelpdesk",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: strict),
        .executableTarget(name: "tandem", dependencies: ["TandemCLI"], swiftSettings: strict),
        .executableTarget(name: "tandem-agent", dependencies: ["TandemAgent"], swiftSettings: strict),
        // Benchmarks only (bench/load.sh): many simulated sessions in one process.
        // Simulated technicians and agents (swift-nio-ssh, in one process): the load generator and the in-process test harness.
        .target(name: "TandemSimulation", dependencies: [
            "TandemAPI", "TandemCore",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOSSH", package: "swift-nio-ssh"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: strict),
        .executableTarget(name: "tandem-loadgen", dependencies: [
            "TandemAPI", "TandemCore", "TandemSimulation",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOSSH", package: "swift-nio-ssh"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: strict),
        // Test helpers shared by the test targets (a child-process runner that avoids Foundation's Process).
        .target(name: "TandemTestSupport", dependencies: ["CPTY"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "TandemCoreTests", dependencies: [
            "TandemCore",
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: strict),
        .testTarget(name: "TandemTextTests", dependencies: ["TandemText"], swiftSettings: strict),
        .testTarget(name: "TandemFuzzingTests", dependencies: ["TandemFuzzing"], swiftSettings: strict),
        .testTarget(name: "TandemStoreTests", dependencies: [
            "TandemStore", "TandemTestSupport", "TandemAudit", "TandemCore",
            .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: strict),
        .testTarget(name: "TandemAuditTests", dependencies: [
            "TandemAudit", "TandemText", .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: strict),
        .testTarget(name: "TandemBrokerTests", dependencies: [
            "TandemAPI", "TandemBroker", "TandemStore", "TandemAudit", "TandemHelpdesk", "TandemSimulation", "TandemTestSupport", "TandemText",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOSSH", package: "swift-nio-ssh"),
            .product(name: "NIOCore", package: "swift-nio"),
        ], swiftSettings: strict),
        .testTarget(name: "EndToEndTests", dependencies: [
            "TandemCore", "CPTY", "TandemTestSupport", "TandemText", .product(name: "Crypto", package: "swift-crypto"),
        ], exclude: ["Support/hostile_client.py", "Support/dropping_proxy.py", "Support/webhook_receiver.py", "Support/console_browser.py", "Support/peer_probe.py"], swiftSettings: strict),
    ]
)
