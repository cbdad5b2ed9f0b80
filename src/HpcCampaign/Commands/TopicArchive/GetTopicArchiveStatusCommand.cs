using System.Management.Automation;
using HpcCampaign.Engine.TopicArchive;

namespace HpcCampaign.Commands.TopicArchive;

/// <summary>
/// <para type="synopsis">Per-topic message counts, bytes and time span of the archive, plus a totals row (houseutils status).</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "TopicArchiveStatus")]
[OutputType(typeof(TopicArchiveTopicStatus))]
public sealed class GetTopicArchiveStatusCommand : TopicArchiveCmdlet
{
    /// <summary>All (since the start), Day (last 24 h), Hour (last hour), by Kafka timestamp; several allowed.</summary>
    [Parameter(Position = 0)]
    [ValidateSet("All", "Day", "Hour")]
    public string[] Window { get; set; } = ["All"];

    protected override void EndProcessing()
    {
        var conn = BuildConnection();
        if (conn is null) return;
        var windows = Window;
        RunWork((sink, ct) => WithArchive(conn, (store, index) =>
        {
            var ops = new ArchiveOperations(store, index);
            var now = DateTimeOffset.UtcNow;
            foreach (var w in windows)
                foreach (var s in ops.Status(w, now)) sink.Output(s);
            return Task.CompletedTask;
        }));
    }
}
