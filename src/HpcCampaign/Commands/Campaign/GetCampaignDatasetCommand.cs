using System.Management.Automation;
using HpcCampaign.Engine.Campaign;

namespace HpcCampaign.Commands.Campaign;

/// <summary>
/// <para type="synopsis">Lists the datasets of campaign archives, with their replicas and embedded files.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "CampaignDataset")]
[OutputType(typeof(CampaignDataset))]
public sealed class GetCampaignDatasetCommand : CampaignCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("ArchivePath")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Wildcards on the dataset name.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    [Parameter]
    [ValidateSet("ADIOS", "HDF5", "TEXT", "IMAGE", "SCALAR_FIELD", IgnoreCase = true)]
    public string[]? Format { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Uuid { get; set; }

    /// <summary>Also deleted datasets and replicas.</summary>
    [Parameter]
    public SwitchParameter IncludeDeleted { get; set; }

    protected override void ProcessRecord()
    {
        var filter = new CampaignDatasetFilter
        {
            Names = Name ?? Array.Empty<string>(), Formats = Format ?? Array.Empty<string>(), Uuids = Uuid ?? Array.Empty<string>(),
            IncludeDeleted = IncludeDeleted,
        };
        foreach (var p in Path)
        {
            var archive = ResolveArchive(p, mustExist: true);
            if (archive is null) continue;
            TryEngine(() => WriteObject(CampaignReader.Datasets(archive, filter), enumerateCollection: true), archive);
        }
    }
}
