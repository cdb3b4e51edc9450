import Foundation

/// Rules that keep an API key where it belongs: in the environment, sent only to the
/// configured server, and not in clear text across a network without a warning.
public enum ServedCredentials {
    /// Why a base URL with `user:password@` is refused (the secret would be stored in the
    /// archive and shown in messages).
    public static let userInfoRefusal =
        "base_url contains a user name or password (user:token@host); remove it, put the key in an environment variable and name that variable in api_key_env"

    /// Whether a URL carries user-info (`scheme://user[:password]@host`).
    public static func hasUserInfo(_ url: String) -> Bool {
        guard let authority = authority(of: url) else { return false }
        return authority.contains("@")
    }

    /// The URL with any user-info removed.
    public static func withoutUserInfo(_ url: String) -> String {
        guard let range = authorityRange(of: url), let at = url[range].lastIndex(of: "@") else { return url }
        return String(url[..<range.lowerBound]) + String(url[url.index(after: at)...])
    }

    /// A warning when a key would travel unencrypted to a host other than this machine.
    public static func plainTextWarning(baseURL: String, hasKey: Bool) -> String? {
        guard hasKey, let url = URL(string: withoutUserInfo(baseURL)), url.scheme?.lowercased() == "http",
              let host = url.host?.lowercased(), !isLoopback(host)
        else { return nil }
        return "warning: the API key for \(withoutUserInfo(baseURL)) is sent over plain http to \(host); anyone on the network path can read it (use https)"
    }

    static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return bare == "localhost" || bare.hasSuffix(".localhost") || bare == "::1" || bare.hasPrefix("127.")
    }

    private static func authorityRange(of url: String) -> Range<String.Index>? {
        guard let scheme = url.range(of: "://") else { return nil }
        let rest = url[scheme.upperBound...]
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? url.endIndex
        return scheme.upperBound..<end
    }

    private static func authority(of url: String) -> Substring? {
        authorityRange(of: url).map { url[$0] }
    }
}
