// Builds the carebank Android library on its own (`gradle :assembleRelease`). An app can instead
// include this directory as a module: see README.md.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "carebank"
