// swift-tools-version:5.9
// carebank for iOS: the generated Swift bindings (Sources/Carebank/Generated), a small idiomatic
// layer (Sources/Carebank/*.swift) and the Rust library as an XCFramework built by
// scripts/build-xcframework.sh on a Mac.
import PackageDescription

let package = Package(
    name: "Carebank",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Carebank", targets: ["Carebank"]),
    ],
    targets: [
        .binaryTarget(name: "CarebankFFI", path: "CarebankFFI.xcframework"),
        // SQLCipher in the Rust library encrypts with CommonCrypto (Security framework).
        .target(name: "Carebank", dependencies: ["CarebankFFI"], path: "Sources/Carebank",
                linkerSettings: [.linkedFramework("Security"), .linkedFramework("CoreFoundation")]),
        .testTarget(name: "CarebankTests", dependencies: ["Carebank"], path: "Tests/CarebankTests"),
    ]
)
