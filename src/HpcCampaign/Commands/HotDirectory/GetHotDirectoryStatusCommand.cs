using System.Management.Automation;
using HpcCampaign.Engine.HotDirectory;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.HotDirectory;

/// <summary>
/// <para type="synopsis">Shows whether each hot directory is healthy, how far behind and how fast (sr3 status columns).</para>
/// One row per component (watch, sender) from the metrics files the running instance writes to its state folder.
/// </summary>
[Cmdlet(VerbsCommon.Get, "HotDirectoryStatus", DefaultParameterSetName = "Name")]
[OutputType(typeof(HotDirectoryStatus))]
public sealed class GetHotDirectoryStatusCommand : HotDirectoryTargetCmdlet
{
    protected override void ProcessRecord()
    {
        if (!TryResolveTargets(out var targets)) return;
        foreach (var (name, state) in targets)
        {
            if (!Directory.Exists(state))
            {
                WriteHpcError(new HpcException("HotDirectoryStateNotFound", HpcErrorKind.ObjectNotFound, $"No hot directory state in '{state}'.", name));
                continue;
            }
            List<HotDirectoryStatus> rows = new();
            if (TryEngine(() => rows = HotDirectoryStatusReader.Read(name, state), name)) WriteObject(rows, true);
        }
    }
}
