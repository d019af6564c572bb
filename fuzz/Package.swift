// swift-tools-version:6.0
// libFuzzer targets for every parser of foreign bytes. Build and run with fuzz/run TARGET SECONDS;
// the parsing itself lives in the main package's TandemFuzzing library.
import PackageDescription

let targets = ["FuzzSftpCodec", "FuzzAgentFrames", "FuzzControlCommand", "FuzzAuditBundle", "FuzzAsciicast", "FuzzConfig"]

let package = Package(
    name: "TandemFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "Tandem", path: "..")],
    targets: [.target(name: "CFuzzMain")] + targets.map { name in
        .executableTarget(name: name, dependencies: ["CFuzzMain", .product(name: "TandemFuzzing", package: "Tandem")],
                          swiftSettings: [.swiftLanguageMode(.v6)])
    }
)
