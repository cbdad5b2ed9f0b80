using System.Management.Automation;
using HpcCampaign.Engine.Config;
using HpcCampaign.Engine.Crypto;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.Keys;

/// <summary>
/// <para type="synopsis">Shows what key files say about themselves (id, note, date, protected); never the key.</para>
/// Without -Path it lists the keys folder of the configuration (~/.config/hpc-campaign/keys).
/// </summary>
[Cmdlet(VerbsCommon.Get, "CampaignKey", DefaultParameterSetName = PathSet)]
[OutputType(typeof(CampaignKeyInfo))]
public sealed class GetCampaignKeyCommand : HpcCmdlet
{
    private const string PathSet = "Path";
    private const string LiteralSet = "LiteralPath";

    [Parameter(Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = LiteralSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[]? LiteralPath { get; set; }

    private bool _sawInput;

    protected override void ProcessRecord()
    {
        if (Path is null && LiteralPath is null) return;
        _sawInput = true;
        foreach (var file in ResolveExistingPaths(LiteralPath ?? Path, LiteralPath is not null))
            Emit(file);
    }

    protected override void EndProcessing()
    {
        if (_sawInput) return;
        var dir = ConfigPaths.KeysDirectory;
        if (!Directory.Exists(dir))
        {
            WriteVerbose($"No keys folder at {dir}.");
            return;
        }
        foreach (var file in Directory.EnumerateFiles(dir).OrderBy(f => f, StringComparer.Ordinal))
            Emit(file);
    }

    private void Emit(string file)
    {
        if (Directory.Exists(file))
        {
            WriteHpcError(new HpcException("KeyPathIsDirectory", HpcErrorKind.InvalidArgument, $"'{file}' is a directory, not a key file.", file));
            return;
        }
        TryEngine(() => WriteObject(KeyFile.Load(file).ToInfo()), file);
    }
}
