using System.Management.Automation;
using HpcCampaign.Engine.HotDirectory;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.HotDirectory;

/// <summary>
/// <para type="synopsis">Stops a running hot directory (in this session, another process or the service) and waits for it to finish its current files.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Stop, "HotDirectory", SupportsShouldProcess = true, DefaultParameterSetName = "Name")]
[OutputType(typeof(HotDirectoryStatus))]
public sealed class StopHotDirectoryCommand : HotDirectoryTargetCmdlet
{
    [Parameter] [ValidateRange(1, 3600)] public int TimeoutSec { get; set; } = 60;
    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!TryResolveTargets(out var targets)) return;
        foreach (var (name, state) in targets)
        {
            if (!HotDirectoryRunner.IsRunning(state))
            {
                WriteVerbose($"Hot directory '{name}' is not running.");
                if (PassThru) WriteObject(HotDirectoryStatusReader.Read(name, state), true);
                continue;
            }
            if (!ShouldProcess(name, "Stop hot directory")) continue;
            var stopped = false;
            RunWork(async (_, ct) => stopped = await HotDirectoryRunner.RequestStopAsync(state, TimeSpan.FromSeconds(TimeoutSec), ct).ConfigureAwait(false), name);
            if (!stopped)
                WriteHpcError(new HpcException("HotDirectoryStopTimeout", HpcErrorKind.OperationTimeout,
                    $"Hot directory '{name}' did not stop within {TimeoutSec} s (pid {HotDirectoryRunner.RunningPid(state)?.ToString() ?? "?"}).", name));
            if (PassThru) WriteObject(HotDirectoryStatusReader.Read(name, state), true);
        }
    }
}
