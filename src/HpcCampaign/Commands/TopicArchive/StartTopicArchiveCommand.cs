using System.Management.Automation;
using HpcCampaign.Engine.TopicArchive;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.TopicArchive;

/// <summary>
/// <para type="synopsis">Archives Kafka (Hopskotch) topics: every message stored bit-exact as BSON and indexed.</para>
/// Runs in the foreground with progress until Ctrl+C, -MaxMessages or -UntilEndOfStream; -AsJob runs it as a job.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "TopicArchive", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(TopicArchiveRunSummary), typeof(HpcJob))]
public sealed class StartTopicArchiveCommand : TopicArchiveKafkaCmdlet
{
    /// <summary>Topics to archive; default every readable topic minus -VetoTopic and the test topic.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? Topic { get; set; }

    [Parameter]
    public string[] VetoTopic { get; set; } = ArchiverOptions.DefaultVetoTopics;

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string TestTopic { get; set; } = ArchiverOptions.DefaultTestTopic;

    /// <summary>Consumer group (default "{user}-hopstream"): keep it stable so a restart resumes.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? GroupName { get; set; }

    /// <summary>Also archive messages with a _test header (skipped by default, as hop does).</summary>
    [Parameter]
    public SwitchParameter IncludeTestMessages { get; set; }

    /// <summary>Housekeeping (default; the 2023 archiver's objects) or ArchiveCore (archive-core's objects).</summary>
    [Parameter]
    [ValidateSet("Housekeeping", "ArchiveCore")]
    public string Layout { get; set; } = "Housekeeping";

    /// <summary>Parallel object writes.</summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = 8;

    /// <summary>Messages per index transaction.</summary>
    [Parameter]
    [ValidateRange(1, 10000)]
    public int BatchSize { get; set; } = 500;

    [Parameter]
    [ValidateRange(1, long.MaxValue)]
    public long MaxMessages { get; set; }

    /// <summary>Stop when every assigned partition is at its end.</summary>
    [Parameter]
    public SwitchParameter UntilEndOfStream { get; set; }

    [Parameter]
    public SwitchParameter AsJob { get; set; }

    private readonly List<string> _topics = new();

    protected override void ProcessRecord()
    {
        if (Topic is not null) _topics.AddRange(Topic);
    }

    protected override void EndProcessing()
    {
        var conn = BuildConnection();
        var kafka = BuildKafka();
        if (conn is null || kafka is null) return;
        var what = _topics.Count > 0 ? string.Join(", ", _topics) : "all readable topics";
        if (!ShouldProcess($"{what} on {kafka.Bootstrap} into {DescribeStore(conn)}", "Archive")) return;
        var options = new ArchiverOptions
        {
            Kafka = kafka,
            Topics = _topics.Count > 0 ? _topics.Distinct().ToArray() : null,
            VetoTopics = VetoTopic,
            TestTopic = TestTopic,
            GroupId = GroupName,
            SkipTestMessages = !IncludeTestMessages,
            Layout = Layout == "ArchiveCore" ? ArchiveLayout.ArchiveCore : ArchiveLayout.Housekeeping,
            StoreConcurrency = ThrottleLimit,
            BatchSize = BatchSize,
            MaxMessages = MaxMessages > 0 ? MaxMessages : null,
            UntilEndOfStream = UntilEndOfStream,
        };
        RunOrStartJob(AsJob, kafka.Bootstrap, (sink, ct) => WithArchive(conn, async (store, index) =>
        {
            var summary = await new Archiver(options, store, index, sink).RunAsync(ct).ConfigureAwait(false);
            sink.Output(summary);
        }), kafka.Bootstrap);
    }
}
