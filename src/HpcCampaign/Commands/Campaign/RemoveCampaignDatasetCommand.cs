using System.Management.Automation;
using HpcCampaign.Engine.Campaign;

namespace HpcCampaign.Commands.Campaign;

/// <summary>
/// <para type="synopsis">Soft-deletes datasets (by uuid or name) or replicas of a campaign archive, in one transaction.</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "CampaignDataset", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = "Id")]
[OutputType(typeof(void))]
public sealed class RemoveCampaignDatasetCommand : CampaignCmdletBase
{
    private readonly Dictionary<string, (List<string> Names, List<string> Uuids, List<long> Replicas)> _work = new(StringComparer.Ordinal);

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("ArchivePath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = "Name", Position = 1)]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = Array.Empty<string>();

    /// <summary>Dataset uuids (bound from Get-CampaignDataset output).</summary>
    [Parameter(ParameterSetName = "Id", ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[]? Uuid { get; set; }

    /// <summary>Replica ids (bound from replica objects): only that replica is removed.</summary>
    [Parameter(ParameterSetName = "Id", ValueFromPipelineByPropertyName = true)]
    public long[]? ReplicaId { get; set; }

    protected override void ProcessRecord()
    {
        var archive = ResolveArchive(Path, mustExist: true);
        if (archive is null) return;
        if (!_work.TryGetValue(archive, out var w)) _work[archive] = w = (new(), new(), new());
        switch (ParameterSetName)
        {
            case "Name":
                foreach (var n in Name) if (ShouldProcess($"{archive}: dataset '{n}'", "Remove (soft delete)")) w.Names.Add(n);
                break;
            default:
                if ((Uuid is null || Uuid.Length == 0) && (ReplicaId is null || ReplicaId.Length == 0))
                {
                    WriteHpcError(new HpcException("NothingToRemove", HpcErrorKind.InvalidArgument,
                        "Give -Name, -Uuid or -ReplicaId (or pipe datasets or replicas).", archive));
                    break;
                }
                foreach (var u in Uuid ?? Array.Empty<string>()) if (ShouldProcess($"{archive}: dataset {u}", "Remove (soft delete)")) w.Uuids.Add(u);
                foreach (var r in ReplicaId ?? Array.Empty<long>()) if (ShouldProcess($"{archive}: replica {r}", "Remove (soft delete)")) w.Replicas.Add(r);
                break;
        }
        Uuid = null;
        ReplicaId = null;
    }

    protected override void EndProcessing()
    {
        foreach (var (archive, w) in _work)
        {
            if (w.Names.Count + w.Uuids.Count + w.Replicas.Count == 0) continue;
            RunWork((sink, _) =>
            {
                var n = CampaignEdit.Remove(archive, w.Names, w.Uuids, w.Replicas);
                sink.Verbose($"{n} item(s) marked deleted in '{archive}'.");
                return Task.CompletedTask;
            }, archive);
        }
    }
}
