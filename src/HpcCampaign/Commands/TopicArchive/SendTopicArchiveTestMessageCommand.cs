using System.Diagnostics;
using System.Management.Automation;
using HpcCampaign.Engine.TopicArchive;

namespace HpcCampaign.Commands.TopicArchive;

/// <summary>
/// <para type="synopsis">Publishes the known test vectors (houseutils publish) and, with -Wait, compares each as sent with as stored.</para>
/// </summary>
[Cmdlet(VerbsCommunications.Send, "TopicArchiveTestMessage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(TopicArchiveTestMessage))]
public sealed class SendTopicArchiveTestMessageCommand : TopicArchiveKafkaCmdlet
{
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Topic { get; set; } = ArchiverOptions.DefaultTestTopic;

    /// <summary>Wait until a running archiver has stored each message, then compare value, headers and timestamp.</summary>
    [Parameter]
    public SwitchParameter Wait { get; set; }

    [Parameter]
    [ValidateRange(1, 3600)]
    public int TimeoutSeconds { get; set; } = 60;

    protected override void EndProcessing()
    {
        var kafka = BuildKafka();
        var conn = Wait ? BuildConnection() : new ArchiveConnection();
        if (conn is null || kafka is null) return;
        if (!ArchiveOperations.IsTestTopic(Topic))
        {
            WriteHpcError(new HpcException("NotATestTopic", HpcErrorKind.InvalidArgument,
                $"'{Topic}' does not look like a test topic (no 'test' or 'mock' in its name); test data goes to test topics only.", Topic));
            return;
        }
        if (!ShouldProcess($"{Topic} on {kafka.Bootstrap}", "Publish the known test messages")) return;
        var topic = Topic;
        var wait = Wait.IsPresent;
        var timeout = TimeSpan.FromSeconds(TimeoutSeconds);
        RunWork(async (sink, ct) =>
        {
            var sent = ArchiveOperations.SendTestMessages(kafka, topic, ct);
            if (!wait)
            {
                foreach (var (name, m, uuid) in sent) sink.Output(new TopicArchiveTestMessage(name, uuid, topic, m.Value.Length, "Sent", $"Published to partition {m.Partition} at offset {m.Offset}."));
                return;
            }
            await WithArchive(conn, async (store, index) =>
            {
                var ops = new ArchiveOperations(store, index);
                var sw = Stopwatch.StartNew();
                var pending = sent.ToList();
                var results = new Dictionary<string, (string, string)>();
                while (true)
                {
                    foreach (var (name, m, uuid) in pending.ToList())
                    {
                        var r = await ops.CompareAsync(m, uuid, ct).ConfigureAwait(false);
                        if (r.Status != "Missing") { results[uuid] = r; pending.RemoveAll(p => p.Uuid == uuid); }
                    }
                    if (pending.Count == 0 || sw.Elapsed > timeout) break;
                    await Task.Delay(500, ct).ConfigureAwait(false);
                }
                foreach (var (name, m, uuid) in sent)
                {
                    var (status, message) = results.TryGetValue(uuid, out var r) ? r : ("Missing", $"Not archived within {timeout.TotalSeconds:0} s; is Start-TopicArchive running on '{topic}'?");
                    sink.Output(new TopicArchiveTestMessage(name, uuid, topic, m.Value.Length, status, message));
                }
            }).ConfigureAwait(false);
        }, topic);
    }
}
