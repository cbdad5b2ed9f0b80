using System.Management.Automation;
using HpcCampaign.Engine.Config;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.Config;

/// <summary>
/// <para type="synopsis">Lists the hosts of hosts.yaml (local hosts, aliases and remote services) the connector and ADIOS2 use.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "CampaignHost")]
[OutputType(typeof(CampaignHostInfo))]
public sealed class GetCampaignHostCommand : HpcCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>The hosts file; default ~/.config/hpc-campaign/hosts.yaml.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? HostsFile { get; set; }

    protected override void ProcessRecord()
    {
        var path = HostsFile is null ? ConfigPaths.HostsFile : ResolveOutputPath(HostsFile);
        if (path is null) return;
        if (HostsFile is not null && !File.Exists(path))
        {
            WriteHpcError(new HpcException("HostsFileNotFound", HpcErrorKind.ObjectNotFound, $"Hosts file '{path}' does not exist.", path));
            return;
        }
        HostsConfig? hosts = null;
        if (!TryEngine(() => hosts = HostsConfig.Load(path), path) || hosts is null) return;
        if (Name is null)
        {
            WriteObject(hosts.Hosts, true);
            return;
        }
        foreach (var pattern in Name)
        {
            var wildcard = WildcardPattern.Get(pattern, WildcardOptions.IgnoreCase);
            var matches = hosts.Hosts.Where(h => wildcard.IsMatch(h.Name)).ToList();
            if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(pattern))
                WriteHpcError(new HpcException("HostNotFound", HpcErrorKind.ObjectNotFound, $"Host '{pattern}' is not in '{path}'.", pattern));
            WriteObject(matches, true);
        }
    }
}
