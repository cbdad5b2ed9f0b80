using System.Management.Automation;
using HpcCampaign.Engine.HotDirectory;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.HotDirectory;

/// <summary>
/// <para type="synopsis">Puts dead letters back in the queue with a fresh attempt count (a running hot directory sends them at once).</para>
/// </summary>
[Cmdlet(VerbsData.Restore, "HotDirectoryDeadLetter", SupportsShouldProcess = true)]
[OutputType(typeof(HotDirectoryDeadLetter))]
public sealed class RestoreHotDirectoryDeadLetterCommand : HpcCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>Dead-letter ids; all of them when omitted.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    public long[]? Id { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? StateDirectory { get; set; }

    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        List<(string Name, string State)> targets = new();
        if (!TryEngine(() => targets = HotDirectoryTarget.Resolve(this, ResolveOutputPath, null, new[] { Name }, StateDirectory), Name)) return;
        foreach (var (name, state) in targets)
        {
            List<HotDirectoryDeadLetter> letters = new();
            if (!TryEngine(() => letters = HotDirectoryStatusReader.DeadLetters(name, state), name)) continue;
            var wanted = Id is null ? letters : letters.Where(l => Id.Contains(l.Id)).ToList();
            if (Id is not null)
                foreach (var missing in Id.Where(i => letters.All(l => l.Id != i)))
                    WriteHpcError(new HpcException("DeadLetterNotFound", HpcErrorKind.ObjectNotFound, $"Hot directory '{name}' has no dead letter {missing}.", missing));
            foreach (var letter in wanted)
            {
                if (!ShouldProcess($"{name}: {letter.RelPath} (dead letter {letter.Id})", "Requeue")) continue;
                var ok = false;
                if (!TryEngine(() => ok = HotDirectoryStatusReader.Requeue(state, letter.Id), letter.Id)) continue;
                if (!ok)
                    WriteHpcError(new HpcException("DeadLetterNotFound", HpcErrorKind.ObjectNotFound, $"Dead letter {letter.Id} was requeued or removed meanwhile.", letter.Id));
                else if (PassThru) WriteObject(letter);
            }
        }
    }
}
