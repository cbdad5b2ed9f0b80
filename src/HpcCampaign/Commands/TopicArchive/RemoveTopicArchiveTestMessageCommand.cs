using System.Management.Automation;
using HpcCampaign.Engine.TopicArchive;

namespace HpcCampaign.Commands.TopicArchive;

/// <summary>
/// <para type="synopsis">Purges test topics from the archive: every index row and every object (houseutils clean_tests).</para>
/// Refuses topics whose names contain neither "test" nor "mock", so production data cannot be deleted this way.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "TopicArchiveTestMessage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(TopicArchiveTestCleanup))]
public sealed class RemoveTopicArchiveTestMessageCommand : TopicArchiveCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Topic { get; set; } = [ArchiverOptions.DefaultTestTopic, "mock.topic"];

    private readonly List<string> _topics = new();

    protected override void ProcessRecord()
    {
        foreach (var t in Topic)
        {
            if (!ArchiveOperations.IsTestTopic(t))
            {
                WriteHpcError(new HpcException("NotATestTopic", HpcErrorKind.InvalidArgument,
                    $"'{t}' does not look like a test topic (no 'test' or 'mock' in its name); refusing to delete its archive.", t));
                continue;
            }
            if (ShouldProcess(t, "Delete every archived message of the test topic")) _topics.Add(t);
        }
    }

    protected override void EndProcessing()
    {
        if (_topics.Count == 0) return;
        var conn = BuildConnection();
        if (conn is null) return;
        var topics = _topics.Distinct().ToList();
        RunWork((sink, ct) => WithArchive(conn, async (store, index) =>
        {
            var ops = new ArchiveOperations(store, index);
            foreach (var t in topics) sink.Output(await ops.CleanTestTopicAsync(t, ct).ConfigureAwait(false));
        }));
    }
}
