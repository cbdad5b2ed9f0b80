using YamlDotNet.RepresentationModel;

namespace HpcCampaign.Engine.Config;

/// <summary>
/// hosts.yaml (spec §5.2): HOST → `local` | name of an earlier host (alias) | { SERVICE → options }.
/// A top-level `version` key is tolerated (the original connector allows `version: v0.1`).
/// </summary>
public sealed class HostsConfig
{
    private readonly Dictionary<string, CampaignHostInfo> _hosts;

    private HostsConfig(string path, Dictionary<string, CampaignHostInfo> hosts)
    {
        SourcePath = path;
        _hosts = hosts;
    }

    public string SourcePath { get; }
    public IReadOnlyCollection<CampaignHostInfo> Hosts => _hosts.Values;

    public static HostsConfig Load(string? path = null)
    {
        path ??= ConfigPaths.HostsFile;
        var hosts = new Dictionary<string, CampaignHostInfo>(StringComparer.Ordinal);
        if (!File.Exists(path)) return new HostsConfig(path, hosts);
        var root = YamlDoc.LoadRoot(path);
        if (root is not null && root is not YamlMappingNode)
            throw new HpcException("InvalidHostsFile", HpcErrorKind.InvalidData, $"'{path}' must be a mapping of host names.", path);
        foreach (var (name, value) in YamlDoc.Entries(root))
        {
            if (name == "version" && value is YamlScalarNode) continue;
            switch (value)
            {
                case YamlScalarNode s when s.Value == "local":
                    hosts[name] = new CampaignHostInfo(name, "Local", null, Array.Empty<CampaignHostService>(), path);
                    break;
                case YamlScalarNode s when !string.IsNullOrEmpty(s.Value):
                    if (!hosts.ContainsKey(s.Value!))
                        throw new HpcException("InvalidHostsFile", HpcErrorKind.InvalidData,
                            $"'{path}': host '{name}' is an alias of '{s.Value}', which is not defined before it.", path);
                    hosts[name] = new CampaignHostInfo(name, "Alias", s.Value, Array.Empty<CampaignHostService>(), path);
                    break;
                case YamlMappingNode m:
                    var services = new List<CampaignHostService>();
                    foreach (var (svc, opts) in YamlDoc.Entries(m))
                    {
                        var options = new Dictionary<string, string>(StringComparer.Ordinal);
                        foreach (var (k, v) in YamlDoc.Entries(opts))
                            options[k] = YamlDoc.Scalar(v) ?? "";
                        services.Add(new CampaignHostService(svc, options));
                    }
                    hosts[name] = new CampaignHostInfo(name, "Remote", null, services, path);
                    break;
                default:
                    throw new HpcException("InvalidHostsFile", HpcErrorKind.InvalidData,
                        $"'{path}': host '{name}' must be 'local', the name of another host, or a map of services.", path);
            }
        }
        return new HostsConfig(path, hosts);
    }

    public CampaignHostInfo? Find(string name) => _hosts.GetValueOrDefault(name);

    /// <summary>Follows aliases to the host that defines services (or is local). Null when unknown; errors on a cycle.</summary>
    public CampaignHostInfo? Resolve(string name)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var current = Find(name);
        while (current is { Kind: "Alias" })
        {
            if (!seen.Add(current.Name))
                throw new HpcException("HostAliasCycle", HpcErrorKind.InvalidData, $"Host alias cycle at '{current.Name}' in '{SourcePath}'.", current.Name);
            current = Find(current.AliasOf!);
        }
        return current;
    }
}
