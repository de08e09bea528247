// The carebank Android library: the generated Kotlin bindings (src/main/kotlin/org/carebank/ffi),
// the idiomatic layer (src/main/kotlin/org/carebank) and the Rust library for each ABI
// (src/main/jniLibs, built by scripts/build-ndk.sh with cargo-ndk).
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.0"
}

val jnaVersion = "5.14.0"
val repoRoot = rootDir.parentFile

android {
    namespace = "org.carebank"
    compileSdk = 35

    defaultConfig {
        minSdk = 26 // java.time in the idiomatic layer
        consumerProguardFiles("consumer-rules.pro")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    sourceSets["main"].jniLibs.srcDirs("src/main/jniLibs")

    testOptions {
        unitTests.all {
            // JVM unit tests load the library built for the host by `cargo build -p carebank-ffi`.
            it.systemProperty(
                "jna.library.path",
                (System.getenv("CARGO_TARGET_DIR")?.let(::File) ?: repoRoot.resolve("target")).resolve("debug").path,
            )
        }
    }
}

kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
}

// Builds the .so files for every ABI before the Android build when they are missing.
val buildRustLibraries by tasks.registering(Exec::class) {
    description = "Builds libcarebank_ffi.so for each Android ABI with cargo-ndk."
    workingDir = repoRoot
    commandLine("android/scripts/build-ndk.sh")
    onlyIf { !file("src/main/jniLibs/arm64-v8a/libcarebank_ffi.so").exists() }
}
tasks.named("preBuild") { dependsOn(buildRustLibraries) }

dependencies {
    // The aar carries libjnidispatch.so for every Android ABI.
    implementation("net.java.dev.jna:jna:$jnaVersion@aar")
    // JVM unit tests need the plain jar, which carries the desktop dispatch libraries.
    testImplementation("net.java.dev.jna:jna:$jnaVersion")
    testImplementation("junit:junit:4.13.2")
}
