using System.Management.Automation;
using System.Security;
using System.Security.Cryptography;
using HpcCampaign.Engine.Campaign;
using HpcCampaign.Engine.Config;

namespace HpcCampaign.Commands.Campaign;

/// <summary>
/// <para type="synopsis">Adds a 2-D scalar field (.npy or raw values) to a campaign archive, stored raw with its JSON description.</para>
/// </summary>
[Cmdlet(VerbsCommon.Add, "CampaignScalarField", SupportsShouldProcess = true)]
[OutputType(typeof(CampaignDataset))]
public sealed class AddCampaignScalarFieldCommand : CampaignCmdletBase
{
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>A .npy file, or raw little-endian row-major values (then -Shape and -DataType).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Source { get; set; } = "";

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ReplicaName { get; set; }

    /// <summary>Height, width of raw input.</summary>
    [Parameter]
    [ValidateCount(2, 2)]
    [ValidateRange(1, int.MaxValue)]
    public int[]? Shape { get; set; }

    [Parameter]
    [ValidateSet("float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")]
    public string? DataType { get; set; }

    /// <summary>A JSON file whose object is merged into the field's metadata.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? MetadataPath { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Key { get; set; }

    [Parameter]
    public SecureString? Password { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? HostName { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        var archive = ResolveArchive(Path, mustExist: false);
        var sources = ResolveExistingPaths(new[] { Source }, literal: true);
        if (archive is null || sources.Count == 0) return;
        string? metadata = null;
        if (MetadataPath is not null)
        {
            var found = ResolveExistingPaths(new[] { MetadataPath }, literal: true);
            if (found.Count == 0) return;
            metadata = File.ReadAllText(found[0]);
        }
        if (!ShouldProcess(archive, $"Add scalar field '{sources[0]}'")) return;
        (byte[] Key, string Id)? key = null;
        if (Key is not null && (key = LoadKey(Key, Password)) is null) return;
        CampaignHost host;
        try { host = CampaignHost.Resolve(HostName, CampaignConfig.Load(), HostsConfig.Load()); }
        catch (HpcException ex) { WriteHpcError(ex); return; }
        var request = new ScalarFieldRequest
        {
            SourcePath = sources[0], Directory = CurrentFileSystemLocation, DatasetName = Name, ReplicaName = ReplicaName,
            Shape = Shape, DataType = DataType, MetadataJson = metadata,
        };
        RunWork((sink, _) =>
        {
            try
            {
                var id = ScalarField.Add(archive, host, request, key?.Key, key?.Id);
                if (PassThru)
                    foreach (var d in CampaignReader.Datasets(archive, new CampaignDatasetFilter { Formats = new[] { "SCALAR_FIELD" } }))
                        if (d.DatasetId == id) sink.Output(d);
            }
            finally
            {
                if (key is { } k) CryptographicOperations.ZeroMemory(k.Key);
            }
            return Task.CompletedTask;
        }, archive);
    }
}
