using System.Net;
using System.Text.RegularExpressions;
using HpcCampaign.Engine.Config;

namespace HpcCampaign.Engine.Campaign;

/// <summary>The host (and directory) new rows are recorded under (spec §2.1, §3.5, §5.2).</summary>
public sealed class CampaignHost
{
    public required string ShortName { get; init; }
    public string? LongName { get; init; }
    public string DefaultProtocol { get; init; } = "";
    /// <summary>True when the host is a remote host from hosts.yaml: datasets are then references only.</summary>
    public bool IsRemote { get; init; }
    public bool IsS3 { get; init; }

    private static readonly Lazy<string> Fqdn = new(() =>
    {
        try { return Dns.GetHostEntry(Dns.GetHostName()).HostName; }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ArgumentException) { return Dns.GetHostName(); }
    });

    private static readonly Regex LoginPrefix = new(@"^(login|batch)\d+\.", RegexOptions.CultureInvariant);

    /// <summary>FQDN without a leading login&lt;n&gt;. / batch&lt;n&gt;.</summary>
    public static string LocalLongName() => LoginPrefix.Replace(Fqdn.Value, "");

    /// <summary>
    /// Short name = explicit name, else config hostname, else the machine name (never empty). A name that hosts.yaml
    /// defines as a remote service map (and is not the configured local name) makes the host remote; its first
    /// service with protocol s3 gives the long name (endpoint).
    /// </summary>
    public static CampaignHost Resolve(string? explicitName, CampaignConfig config, HostsConfig hosts)
    {
        var configured = string.IsNullOrWhiteSpace(config.HostName) ? null : config.HostName;
        var name = !string.IsNullOrWhiteSpace(explicitName) ? explicitName! : configured ?? MachineShortName();
        if (!string.IsNullOrWhiteSpace(explicitName) && explicitName != configured)
        {
            var resolved = hosts.Resolve(explicitName!);
            if (resolved is { Kind: "Remote" })
            {
                var first = resolved.Services.FirstOrDefault();
                var protocol = first?.Options.GetValueOrDefault("protocol") ?? "";
                if (protocol == "s3")
                    return new CampaignHost
                    {
                        ShortName = name, LongName = first!.Options.GetValueOrDefault("endpoint"), DefaultProtocol = "",
                        IsRemote = true, IsS3 = true,
                    };
                var host = first?.Options.GetValueOrDefault("host");
                return new CampaignHost { ShortName = name, LongName = string.IsNullOrEmpty(host) ? name : host, IsRemote = true };
            }
        }
        return new CampaignHost { ShortName = name, LongName = LocalLongName() };
    }

    public static string MachineShortName()
    {
        var n = Environment.MachineName;
        if (string.IsNullOrEmpty(n)) n = Dns.GetHostName();
        var dot = n.IndexOf('.');
        return dot > 0 ? n[..dot] : (n.Length > 0 ? n : "localhost");
    }
}
