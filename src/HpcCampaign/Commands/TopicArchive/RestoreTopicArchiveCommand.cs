using System.Management.Automation;
using HpcCampaign.Engine.TopicArchive;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.TopicArchive;

/// <summary>
/// <para type="synopsis">Publishes archived messages of a topic and time range back to Kafka, with keys, headers and timestamps, in order.</para>
/// </summary>
[Cmdlet(VerbsData.Restore, "TopicArchive", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(TopicArchiveRestoreResult), typeof(HpcJob))]
public sealed class RestoreTopicArchiveCommand : TopicArchiveKafkaCmdlet
{
    /// <summary>The archived (source) topic.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Topic { get; set; } = "";

    /// <summary>Where to publish (default: the source topic itself).</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string? DestinationTopic { get; set; }

    [Parameter]
    public DateTime? From { get; set; }

    [Parameter]
    public DateTime? To { get; set; }

    /// <summary>Original: each message to its original partition number (when the destination has it); Key: Kafka's partitioner.</summary>
    [Parameter]
    [ValidateSet("Original", "Key")]
    public string Partitioning { get; set; } = "Original";

    [Parameter]
    public SwitchParameter AsJob { get; set; }

    private readonly List<string> _topics = new();

    protected override void ProcessRecord() => _topics.Add(Topic);

    protected override void EndProcessing()
    {
        var conn = BuildConnection();
        var kafka = BuildKafka();
        if (conn is null || kafka is null) return;
        var work = new List<(string Source, string Target)>();
        foreach (var t in _topics.Distinct())
        {
            var target = DestinationTopic ?? t;
            if (ShouldProcess($"{t} → {target} on {kafka.Bootstrap}", "Publish archived messages")) work.Add((t, target));
        }
        if (work.Count == 0) return;
        long? from = Ms(From), to = Ms(To);
        var preserve = Partitioning == "Original";
        RunOrStartJob(AsJob, kafka.Bootstrap, (sink, ct) => WithArchive(conn, async (store, index) =>
        {
            var ops = new ArchiveOperations(store, index);
            foreach (var (source, target) in work)
                sink.Output(await ops.RestoreAsync(kafka, source, target, from, to, preserve, sink, ct).ConfigureAwait(false));
        }));
    }
}
