namespace HpcCampaign.Engine.Config;

/// <summary>config.yaml of hpc-campaign (spec §5.1): the Campaign section.</summary>
public sealed class CampaignConfig
{
    public string? HostName { get; init; }
    public string? CampaignStorePath { get; init; }
    public string? CachePath { get; init; }
    public int Verbose { get; init; }
    public string SourcePath { get; init; } = "";

    /// <summary>Reads the file; a missing file gives an empty configuration.</summary>
    public static CampaignConfig Load(string? path = null)
    {
        path ??= ConfigPaths.ConfigFile;
        if (!File.Exists(path)) return new CampaignConfig { SourcePath = path };
        var root = YamlDoc.LoadRoot(path);
        var section = YamlDoc.Child(root, "Campaign");
        string? Get(string k) => YamlDoc.Scalar(YamlDoc.Child(section, k)) is { Length: > 0 } v ? v : null;
        return new CampaignConfig
        {
            HostName = Get("hostname"),
            CampaignStorePath = Get("campaignstorepath") is { } s ? ConfigPaths.ExpandHome(s) : null,
            CachePath = Get("cachepath") is { } c ? ConfigPaths.ExpandHome(c) : null,
            Verbose = int.TryParse(Get("verbose"), out var v) ? v : 0,
            SourcePath = path,
        };
    }
}
