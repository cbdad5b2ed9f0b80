using System.Management.Automation;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.Synchrotron;

/// <summary>
/// <para type="synopsis">Lists EPN visits from the synchrotron portal with their project, destination and sync state.</para>
/// Logs in per equipment entry of the config (OAuth password grant with client credentials), asks for the visits of
/// the look-back window (visit-day-range) and returns those that ended before the current visits began. A failing
/// equipment entry is an error record; the others are still listed.
/// </summary>
[Cmdlet(VerbsCommon.Get, "SynchrotronEpn")]
[OutputType(typeof(SynchrotronEpn))]
public sealed class GetSynchrotronEpnCommand : HpcCmdlet
{
    /// <summary>EPN names or wildcard patterns to keep (default: all).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Epn { get; set; }

    /// <summary>The mxsync config.yml; default synchrotron.yml in the HpcCampaign config folder.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

    /// <summary>Portal user login for every equipment entry (replaces username/password of the config).</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>Portal API client (replaces client_name/client_password of the config).</summary>
    [Parameter]
    [Credential]
    public PSCredential? ClientCredential { get; set; }

    /// <summary>Also list visits that are still running.</summary>
    [Parameter]
    public SwitchParameter IncludeCurrent { get; set; }

    /// <summary>Only EPNs that are mapped, finished and not yet in the ignore list (what Sync-SynchrotronEpn would copy).</summary>
    [Parameter]
    public SwitchParameter Pending { get; set; }

    private readonly List<string> _patterns = new();

    protected override void ProcessRecord()
    {
        if (Epn is not null) _patterns.AddRange(Epn);
    }

    protected override void EndProcessing()
    {
        var config = SynchrotronCommon.LoadConfig(new HpcCmdletAccess(ResolveOutputPath, Fail), ConfigPath);
        var finder = SynchrotronCommon.Finder(config, SynchrotronCommon.Http, Credential, ClientCredential);
        var wildcards = _patterns.Select(p => WildcardPattern.Get(p, WildcardOptions.IgnoreCase)).ToList();
        var includeCurrent = IncludeCurrent.IsPresent;
        var pending = Pending.IsPresent;
        RunWork(async (sink, ct) =>
        {
            var found = await finder.FindAsync(sink, includeCurrent, ct).ConfigureAwait(false);
            foreach (var e in found.OrderBy(e => e.Epn, StringComparer.Ordinal))
            {
                if (wildcards.Count > 0 && !wildcards.Any(w => w.IsMatch(e.Epn))) continue;
                if (pending && (!e.Finished || e.Synced || e.Project is null)) continue;
                sink.Output(e);
            }
        }, config.Path);
    }
}
