using System.Management.Automation;
using HpcCampaign.Engine.Synchrotron;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.Synchrotron;

/// <summary>
/// <para type="synopsis">Copies EPN folders from the facility's SFTP host into {root}/{project}/{epn}/data/ with rsync over SSH.</para>
/// EPNs come from the pipeline (Get-SynchrotronEpn, or names) or, without input, from the portal: finished, mapped
/// visits not yet in the ignore list. Up to -ThrottleLimit EPNs run in parallel. An EPN is added to the ignore list
/// only after rsync returned 0 and a verification dry run finds nothing left. -WhatIf runs rsync's dry run and
/// returns what would change. -RepeatEvery keeps running like the mxsync service.
/// </summary>
[Cmdlet(VerbsData.Sync, "SynchrotronEpn", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(SynchrotronSyncResult), typeof(HpcJob))]
public sealed class SyncSynchrotronEpnCommand : HpcCmdlet
{
    /// <summary>EPN names (e.g. 12282a). Binds the Epn property of Get-SynchrotronEpn output.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? Epn { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

    /// <summary>EPNs copied at the same time; default max-tasks of the config.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; }

    /// <summary>Keep running: a new round (portal query + sync) this long after the previous one ended. Stop with Ctrl+C or Stop-Job.</summary>
    [Parameter]
    public TimeSpan? RepeatEvery { get; set; }

    /// <summary>Copy EPNs even when the ignore list already records them.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter AsJob { get; set; }

    /// <summary>Portal user login (only used when EPNs are discovered through the portal).</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    [Parameter]
    [Credential]
    public PSCredential? ClientCredential { get; set; }

    private readonly List<string> _epns = new();

    protected override void ProcessRecord()
    {
        if (Epn is not null) _epns.AddRange(Epn);
    }

    protected override void EndProcessing()
    {
        var config = SynchrotronCommon.LoadConfig(new HpcCmdletAccess(ResolveOutputPath, Fail), ConfigPath);
        var throttle = ThrottleLimit > 0 ? ThrottleLimit : Math.Clamp(config.MaxTasks, 1, 64);
        if (RepeatEvery is { } every && every < TimeSpan.FromSeconds(1))
            Fail(new HpcException("InvalidInterval", HpcErrorKind.InvalidArgument, "-RepeatEvery must be at least one second.", every));
        var whatIf = SynchrotronCommon.WhatIfActive(this);
        var syncer = new EpnSyncer(config) { Force = Force.IsPresent };
        var explicitEpns = _epns.Count > 0;
        List<string> real = new(), dry = new();
        if (explicitEpns)
        {
            foreach (var epn in _epns.Distinct(StringComparer.Ordinal))
            {
                if (ShouldProcess(epn, "Copy EPN with rsync")) real.Add(epn);
                else if (whatIf) dry.Add(epn);
            }
            if (real.Count == 0 && dry.Count == 0) return;
        }
        else
        {
            if (!ShouldProcess(config.Path!, "Find finished EPNs through the portal and copy them with rsync") && !whatIf) return;
        }
        var dryRun = whatIf;
        var finder = SynchrotronCommon.Finder(config, SynchrotronCommon.Http, Credential, ClientCredential);
        async Task<IReadOnlyList<string>> Discover(IHpcSink sink, CancellationToken ct)
        {
            if (explicitEpns) return dryRun ? dry : real;
            var found = await finder.FindAsync(sink, false, ct).ConfigureAwait(false);
            foreach (var unmapped in found.Where(e => e.Finished && e.Project is null))
                sink.Verbose($"EPN {unmapped.Epn} has no project in epn_cap_map; skipped (Send-SynchrotronEpnAlert reports it).");
            return found.Where(e => e.Finished && e.Project is not null && (Force || !e.Synced)).Select(e => e.Epn).Distinct().ToList();
        }
        RunOrStartJob(AsJob, config.Host ?? Environment.MachineName, async (sink, ct) =>
        {
            if (RepeatEvery is { } interval)
                await syncer.RepeatAsync(c => Discover(sink, c), dryRun, throttle, interval, sink, ct).ConfigureAwait(false);
            else
            {
                var epns = await Discover(sink, ct).ConfigureAwait(false);
                if (epns.Count == 0) sink.Verbose("No EPN to copy.");
                else await syncer.SyncAsync(epns, dryRun, throttle, sink, ct).ConfigureAwait(false);
            }
        }, config.Path);
    }
}
