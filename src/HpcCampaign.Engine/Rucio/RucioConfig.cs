namespace HpcCampaign.Engine.Rucio;

/// <summary>
/// rucio.cfg (INI). Found like the Rucio client does: $RUCIO_CONFIG, else the first rucio.cfg in $RUCIO_HOME/etc,
/// $VIRTUAL_ENV/etc, $CONDA_PREFIX/etc, /opt/rucio/etc. Our own storage credentials (which Rucio leaves to gfal2)
/// sit in an optional [storage] section: s3_access_key, s3_secret_key, ssh_user, ssh_private_key, ssh_known_hosts.
/// </summary>
public sealed class RucioConfig
{
    private readonly Dictionary<string, Dictionary<string, string>> _sections;

    private RucioConfig(string? path, Dictionary<string, Dictionary<string, string>> sections)
    {
        Path = path;
        _sections = sections;
    }

    public string? Path { get; }

    public string? Get(string section, string key) =>
        _sections.TryGetValue(section, out var s) && s.TryGetValue(key, out var v) && v.Length > 0 ? v : null;

    public string RucioHost => Get("client", "rucio_host") ?? throw Missing("client", "rucio_host");
    public string AuthHost => Get("client", "auth_host") ?? RucioHost;
    public string AuthType => (Get("client", "auth_type") ?? "userpass").ToLowerInvariant();
    public string? Account => Get("client", "account");
    public string? Vo => Get("client", "vo");
    public string? Username => Get("client", "username");
    public string? Password => Get("client", "password");
    public string? CaCert => Get("client", "ca_cert");
    public string? ClientCert => Environment.GetEnvironmentVariable("RUCIO_CLIENT_CERT") is { Length: > 0 } c ? c : Get("client", "client_cert");
    public string? ClientKey => Environment.GetEnvironmentVariable("RUCIO_CLIENT_KEY") is { Length: > 0 } k ? k : Get("client", "client_key");
    public int RequestRetries => int.TryParse(Get("client", "request_retries"), out var n) ? n : 3;
    public int StatRetries => int.TryParse(Get("client", "protocol_stat_retries"), out var n) ? n : 6;
    public string? TokenFile => Get("client", "auth_token_file_path");
    public string Lfn2PfnDefault => Get("policy", "lfn2pfn_algorithm_default") ?? "hash";

    /// <summary>x509_proxy file: $RUCIO_CLIENT_PROXY, client_x509_proxy, $X509_USER_PROXY, /tmp/x509up_u&lt;euid&gt;.</summary>
    public string ProxyFile =>
        Environment.GetEnvironmentVariable("RUCIO_CLIENT_PROXY") is { Length: > 0 } p ? p
        : Get("client", "client_x509_proxy") ?? (Environment.GetEnvironmentVariable("X509_USER_PROXY") is { Length: > 0 } x ? x
        : $"/tmp/x509up_u{(OperatingSystem.IsWindows() ? 0 : GetEuid())}");

    private static uint GetEuid()
    {
        try { return uint.Parse(File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("Uid:")).Split('\t', StringSplitOptions.RemoveEmptyEntries)[2]); }
        catch (Exception) { return 0; }
    }

    private HpcException Missing(string section, string key) =>
        new("RucioConfigIncomplete", HpcErrorKind.InvalidData, $"rucio.cfg ({Path ?? "none"}) has no [{section}] {key}.", Path);

    /// <summary>The rucio.cfg the Rucio client would use, or null.</summary>
    public static string? FindDefault()
    {
        if (Environment.GetEnvironmentVariable("RUCIO_CONFIG") is { Length: > 0 } explicitPath) return explicitPath;
        foreach (var env in new[] { "RUCIO_HOME", "VIRTUAL_ENV", "CONDA_PREFIX" })
            if (Environment.GetEnvironmentVariable(env) is { Length: > 0 } root && File.Exists(System.IO.Path.Combine(root, "etc", "rucio.cfg")))
                return System.IO.Path.Combine(root, "etc", "rucio.cfg");
        return File.Exists("/opt/rucio/etc/rucio.cfg") ? "/opt/rucio/etc/rucio.cfg" : null;
    }

    public static RucioConfig Load(string? path)
    {
        path ??= FindDefault();
        if (path is null)
            throw new HpcException("RucioConfigNotFound", HpcErrorKind.ObjectNotFound,
                "No rucio.cfg found ($RUCIO_CONFIG, $RUCIO_HOME/etc, $VIRTUAL_ENV/etc, $CONDA_PREFIX/etc, /opt/rucio/etc); give -RucioConfig.", null);
        if (!File.Exists(path))
            throw new HpcException("RucioConfigNotFound", HpcErrorKind.ObjectNotFound, $"rucio.cfg '{path}' does not exist.", path);
        return Parse(File.ReadAllText(path), path);
    }

    public static RucioConfig Parse(string text, string? path = null)
    {
        var sections = new Dictionary<string, Dictionary<string, string>>(StringComparer.OrdinalIgnoreCase);
        Dictionary<string, string>? current = null;
        var lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';') continue;
            if (line[0] == '[')
            {
                var end = line.IndexOf(']');
                if (end < 0) throw Bad(path, lineNo);
                var name = line[1..end].Trim();
                if (!sections.TryGetValue(name, out current)) sections[name] = current = new(StringComparer.OrdinalIgnoreCase);
                continue;
            }
            var eq = line.IndexOfAny(new[] { '=', ':' });
            if (eq <= 0 || current is null) throw Bad(path, lineNo);
            current[line[..eq].Trim()] = line[(eq + 1)..].Trim();
        }
        return new RucioConfig(path, sections);
    }

    /// <summary>A copy with [client] values replaced (e.g. -Credential overrides username/password).</summary>
    public RucioConfig With(string section, string key, string value)
    {
        var copy = _sections.ToDictionary(kv => kv.Key, kv => new Dictionary<string, string>(kv.Value, StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
        if (!copy.TryGetValue(section, out var s)) copy[section] = s = new(StringComparer.OrdinalIgnoreCase);
        s[key] = value;
        return new RucioConfig(Path, copy);
    }

    private static HpcException Bad(string? path, int line) =>
        new("InvalidRucioConfig", HpcErrorKind.InvalidData, $"rucio.cfg '{path}' line {line} is not 'key = value' or '[section]'.", path);
}
