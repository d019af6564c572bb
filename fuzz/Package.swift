// swift-tools-version:6.0
// libFuzzer build of every parser of foreign bytes: one executable, the target chosen by
// TANDEM_FUZZ_TARGET. Build and run with fuzz/run TARGET SECONDS; the parsing itself lives in
// the main package's TandemFuzzing library.
import PackageDescription

let package = Package(
    name: "TandemFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "Tandem", path: "..")],
    targets: [
        .target(name: "CFuzzMain"),
        .executableTarget(name: "TandemFuzz", dependencies: ["CFuzzMain", .product(name: "TandemFuzzing", package: "Tandem")],
                          swiftSettings: [.swiftLanguageMode(.v6)]),
    ]
)
