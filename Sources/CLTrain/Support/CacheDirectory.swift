import Foundation

/// Where CLTrain keeps what only saves time (compiled kernels, device calibrations): a folder per
/// kind under `$CLTRAIN_CACHE_DIR`, else `$XDG_CACHE_HOME/cltrain`, else `~/.cache/cltrain`.
/// `CLTRAIN_CACHE_DIR=off` (or empty) disables every cache: nil. An empty or relative
/// `XDG_CACHE_HOME` is ignored, as the XDG base directory specification says, so an unset-looking
/// variable never puts a cache in the working folder.
enum CacheDirectory {
    static func folder(_ kind: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        if let explicit = environment["CLTRAIN_CACHE_DIR"] {
            return explicit == "off" || explicit.isEmpty ? nil : URL(fileURLWithPath: explicit).appendingPathComponent(kind)
        }
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.hasPrefix("/") ? URL(fileURLWithPath: $0) : nil }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("cltrain").appendingPathComponent(kind)
    }
}
