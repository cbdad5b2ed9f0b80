namespace HpcCampaign;

/// <summary>One service of a host in hosts.yaml (spec campaign-archive §5.2).</summary>
public sealed class CampaignHostService
{
    public CampaignHostService(string name, IReadOnlyDictionary<string, string> options)
    {
        Name = name;
        Options = options;
    }

    public string Name { get; }
    public IReadOnlyDictionary<string, string> Options { get; }
    public string? Protocol => Get("protocol");
    public string? Host => Get("host");
    public string? User => Get("user");
    public string? Authentication => Get("authentication");
    public string? ServerPath => Get("serverpath");
    public string? Endpoint => Get("endpoint");
    public int? Port => int.TryParse(Get("port"), out var p) ? p : null;
    public string? Get(string key) => Options.TryGetValue(key, out var v) ? v : null;
    public override string ToString() => Name;
}

/// <summary>A host entry of hosts.yaml: local, an alias of another host, or a set of services.</summary>
public sealed class CampaignHostInfo
{
    public CampaignHostInfo(string name, string kind, string? aliasOf, IReadOnlyList<CampaignHostService> services, string sourcePath)
    {
        Name = name;
        Kind = kind;
        AliasOf = aliasOf;
        Services = services;
        SourcePath = sourcePath;
    }

    public string Name { get; }
    /// <summary>"Local", "Alias" or "Remote".</summary>
    public string Kind { get; }
    public string? AliasOf { get; }
    public IReadOnlyList<CampaignHostService> Services { get; }
    public string SourcePath { get; }
    public override string ToString() => Name;
}
