using System.Management.Automation;
using HpcCampaign.Engine.HotDirectory;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.HotDirectory;

/// <summary>
/// <para type="synopsis">Lists the files a hot directory gave up on after its last retry (the dead-letter list).</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "HotDirectoryDeadLetter", DefaultParameterSetName = "Name")]
[OutputType(typeof(HotDirectoryDeadLetter))]
public sealed class GetHotDirectoryDeadLetterCommand : HotDirectoryTargetCmdlet
{
    protected override void ProcessRecord()
    {
        if (!TryResolveTargets(out var targets)) return;
        foreach (var (name, state) in targets)
        {
            List<HotDirectoryDeadLetter> rows = new();
            if (TryEngine(() => rows = HotDirectoryStatusReader.DeadLetters(name, state), name)) WriteObject(rows, true);
        }
    }
}
