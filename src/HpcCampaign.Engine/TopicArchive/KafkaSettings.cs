using Confluent.Kafka;
using Tomlyn;
using Tomlyn.Model;

namespace HpcCampaign.Engine.TopicArchive;

/// <summary>One credential of a hop auth file (spec §8).</summary>
public sealed record HopCredential(string Username, string Password, string Protocol, string Mechanism, string? Hostname, string? SslCaLocation, string? TokenEndpoint);

/// <summary>How to reach the Kafka cluster: bootstrap address plus optional SASL credential.</summary>
public sealed class KafkaSettings
{
    public KafkaSettings(string bootstrap, HopCredential? credential)
    {
        var (host, port, _, _) = ParseUrl(bootstrap);
        Bootstrap = $"{host}:{port}";
        Credential = credential;
    }

    public string Bootstrap { get; }
    public HopCredential? Credential { get; }

    /// <summary>kafka://[user@]host[:port][/topics] or host[:port]; the port defaults to 9092.</summary>
    public static (string Host, int Port, string? User, string[] Topics) ParseUrl(string url)
    {
        var s = url.Trim();
        if (s.StartsWith("kafka://", StringComparison.OrdinalIgnoreCase)) s = s[8..];
        string? user = null;
        var topics = Array.Empty<string>();
        var slash = s.IndexOf('/');
        if (slash >= 0)
        {
            topics = s[(slash + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            s = s[..slash];
        }
        var at = s.LastIndexOf('@');
        if (at >= 0) { user = s[..at]; s = s[(at + 1)..]; }
        var colon = s.LastIndexOf(':');
        var port = 9092;
        if (colon >= 0)
        {
            if (!int.TryParse(s[(colon + 1)..], out port) || port is <= 0 or > 65535)
                throw new HpcException("InvalidBootstrap", HpcErrorKind.InvalidArgument, $"'{url}' has no valid port.", url);
            s = s[..colon];
        }
        if (s.Length == 0) throw new HpcException("InvalidBootstrap", HpcErrorKind.InvalidArgument, $"'{url}' names no broker host.", url);
        return (s, port, user, topics);
    }

    /// <summary>Client settings common to consumers, producers and the admin client.</summary>
    public ClientConfig ClientConfig()
    {
        var c = new ClientConfig { BootstrapServers = Bootstrap, SocketTimeoutMs = 30000 };
        if (Credential is { } cr)
        {
            c.SecurityProtocol = cr.Protocol.ToUpperInvariant().Replace('-', '_') switch
            {
                "SASL_PLAINTEXT" => SecurityProtocol.SaslPlaintext,
                _ => SecurityProtocol.SaslSsl,
            };
            if (cr.TokenEndpoint is not null)
            {
                c.SaslMechanism = SaslMechanism.OAuthBearer;
                c.SaslOauthbearerMethod = SaslOauthbearerMethod.Oidc;
                c.SaslOauthbearerTokenEndpointUrl = cr.TokenEndpoint;
                c.SaslOauthbearerClientId = cr.Username;
                c.SaslOauthbearerClientSecret = cr.Password;
            }
            else
            {
                c.SaslMechanism = cr.Mechanism.ToUpperInvariant().Replace('_', '-') switch
                {
                    "SCRAM-SHA-256" => SaslMechanism.ScramSha256,
                    "PLAIN" => SaslMechanism.Plain,
                    _ => SaslMechanism.ScramSha512,
                };
                c.SaslUsername = cr.Username;
                c.SaslPassword = cr.Password;
            }
            if (cr.SslCaLocation is not null)
            {
                c.SslCaLocation = cr.SslCaLocation;
                c.Set("https.ca.location", cr.SslCaLocation);
            }
        }
        return c;
    }
}

/// <summary>Reads hop's auth.toml (spec §8): mode must be owner-only, [[auth]] array or a single [auth] table.</summary>
public static class HopAuth
{
    public static string DefaultPath
    {
        get
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
            var baseDir = string.IsNullOrWhiteSpace(xdg) ? Path.Combine(Config.ConfigPaths.Home, ".config") : xdg;
            return Path.Combine(baseDir, "hop", "auth.toml");
        }
    }

    public static List<HopCredential> Load(string path)
    {
        if (!File.Exists(path))
            throw new HpcException("HopAuthNotFound", HpcErrorKind.ObjectNotFound, $"The hop auth file '{path}' does not exist.", path);
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            const UnixFileMode forbidden = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
                                           UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute |
                                           UnixFileMode.SetUser | UnixFileMode.SetGroup | UnixFileMode.StickyBit;
            if ((mode & forbidden) != 0)
                throw new HpcException("HopAuthInsecure", HpcErrorKind.PermissionDenied,
                    $"The hop auth file '{path}' is readable by others (mode {Convert.ToString((int)mode, 8)}); run chmod 600 on it.", path);
        }
        TomlTable model;
        try { model = TomlSerializer.Deserialize<TomlTable>(File.ReadAllText(path))!; }
        catch (Exception ex) when (ex is TomlException or InvalidOperationException or FormatException)
        {
            throw new HpcException("HopAuthInvalid", HpcErrorKind.InvalidData, $"'{path}' is not valid TOML: {ex.Message}", path, ex);
        }
        var tables = new List<TomlTable>();
        if (model.TryGetValue("auth", out var auth))
        {
            if (auth is TomlTableArray arr) tables.AddRange(arr);
            else if (auth is TomlTable single) tables.Add(single);
        }
        if (tables.Count == 0)
            throw new HpcException("HopAuthInvalid", HpcErrorKind.InvalidData, $"'{path}' has no [[auth]] entries.", path);
        var list = new List<HopCredential>();
        foreach (var t in tables)
        {
            string? Get(string k) => t.TryGetValue(k, out var v) && v is not null ? v.ToString() : null;
            var user = Get("username");
            var pw = Get("password");
            if (user is null || pw is null)
                throw new HpcException("HopAuthInvalid", HpcErrorKind.InvalidData, $"An [[auth]] entry in '{path}' lacks username or password.", path);
            list.Add(new HopCredential(user, pw, Get("protocol") ?? "SASL_SSL", Get("mechanism") ?? "SCRAM-SHA-512",
                Get("hostname"), Get("ssl_ca_location"), Get("token_endpoint")));
        }
        return list;
    }

    /// <summary>
    /// hop's choice for a URL: credentials whose hostname matches the host (port 9092 implicit) win; else host-less
    /// ones; a username in the URL must match. None: HopAuthNoMatch; several: HopAuthAmbiguous.
    /// </summary>
    public static HopCredential Select(IReadOnlyList<HopCredential> creds, string url)
    {
        var (host, port, user, _) = KafkaSettings.ParseUrl(url);
        bool HostMatches(HopCredential c)
        {
            if (c.Hostname is null) return false;
            var (h, p, _, _) = KafkaSettings.ParseUrl(c.Hostname);
            return string.Equals(h, host, StringComparison.OrdinalIgnoreCase) && p == port;
        }
        var pool = creds.Where(c => user is null || c.Username == user).ToList();
        var matches = pool.Where(HostMatches).ToList();
        if (matches.Count == 0) matches = pool.Where(c => c.Hostname is null).ToList();
        if (matches.Count == 0)
            throw new HpcException("HopAuthNoMatch", HpcErrorKind.AuthenticationError, $"No credential in the hop auth file matches '{host}:{port}'" + (user is null ? "." : $" for user '{user}'."), url);
        if (matches.Count > 1)
            throw new HpcException("HopAuthAmbiguous", HpcErrorKind.AuthenticationError,
                $"{matches.Count} credentials match '{host}:{port}'; put the username in the URL (kafka://user@host).", url);
        return matches[0];
    }
}
