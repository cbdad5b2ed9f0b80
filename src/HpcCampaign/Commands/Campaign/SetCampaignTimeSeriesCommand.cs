using System.Management.Automation;
using HpcCampaign.Engine.Campaign;

namespace HpcCampaign.Commands.Campaign;

/// <summary>
/// <para type="synopsis">Creates or changes a time series: an ordered group of datasets that ADIOS2 reads as one.</para>
/// </summary>
[Cmdlet(VerbsCommon.Set, "CampaignTimeSeries", SupportsShouldProcess = true, DefaultParameterSetName = "Add")]
[OutputType(typeof(CampaignTimeSeries))]
public sealed class SetCampaignTimeSeriesCommand : CampaignCmdletBase
{
    private readonly List<string> _datasets = new();

    [Parameter(Mandatory = true, Position = 0)]
    [Alias("ArchivePath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Time-series name.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>Dataset names appended in this order (also Get-CampaignDataset output through the pipeline).</summary>
    [Parameter(Position = 2, ParameterSetName = "Add", ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public string[] Dataset { get; set; } = Array.Empty<string>();

    /// <summary>Reset the current members first.</summary>
    [Parameter(ParameterSetName = "Add")]
    public SwitchParameter Replace { get; set; }

    /// <summary>Delete the series; its members stay as ordinary datasets.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Remove")]
    public SwitchParameter Remove { get; set; }

    protected override void ProcessRecord() => _datasets.AddRange(Dataset);

    protected override void EndProcessing()
    {
        var archive = ResolveArchive(Path, mustExist: true);
        if (archive is null) return;
        var action = Remove ? "Remove time series" : Replace ? "Replace time series members" : $"Add {_datasets.Count} dataset(s) to time series";
        if (!ShouldProcess($"{archive}: {Name}", action)) return;
        RunWork((sink, _) =>
        {
            sink.Output(CampaignEdit.SetTimeSeries(archive, Name, _datasets, Replace, Remove, sink));
            return Task.CompletedTask;
        }, archive);
    }
}
