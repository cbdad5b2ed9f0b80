using System.Management.Automation;
using HpcCampaign.Engine.TopicArchive;

namespace HpcCampaign.Commands.TopicArchive;

/// <summary>
/// <para type="synopsis">Removes duplicate index rows (same uuid, or same topic + timestamp + message crc32) and their objects.</para>
/// The lowest id of each group is kept. An object still referenced by a kept row is not deleted.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "TopicArchiveDuplicate", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(TopicArchiveRecord))]
public sealed class RemoveTopicArchiveDuplicateCommand : TopicArchiveCmdlet
{
    /// <summary>Remove at most this many rows in this run.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Limit { get; set; } = int.MaxValue;

    /// <summary>Write each removed record.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        var conn = BuildConnection();
        if (conn is null) return;
        List<IndexRow> dups;
        try
        {
            using var store = conn.OpenStore();
            using var index = conn.OpenIndex();
            dups = new ArchiveOperations(store, index).FindDuplicates().Take(Limit).ToList();
        }
        catch (HpcException ex) { Fail(ex); return; }
        var chosen = dups.Where(d => ShouldProcess($"{d.Uuid} ({d.Topic}, {d.Key})", "Remove duplicate row and object")).ToList();
        if (chosen.Count == 0) return;
        var passThru = PassThru.IsPresent;
        RunWork((sink, ct) => WithArchive(conn, async (store, index) =>
        {
            var ops = new ArchiveOperations(store, index);
            foreach (var d in chosen)
            {
                ct.ThrowIfCancellationRequested();
                var objectRemoved = await ops.RemoveDuplicateAsync(d, ct).ConfigureAwait(false);
                sink.Verbose($"Removed row {d.Id} ({d.Uuid})" + (objectRemoved ? $" and object {d.Key}." : "; its object is shared and kept."));
                if (passThru) sink.Output(d.ToRecord());
            }
        }));
    }
}
