namespace HpcCampaign.Engine.Rucio;

/// <summary>One local file to upload and its DID name (the file name by default, like rucio upload).</summary>
public sealed record RucioUploadItem(string Path, string Name);

public sealed class RucioUploadOptions
{
    public required string Scope { get; init; }
    public required string Rse { get; init; }
    /// <summary>Rule lifetime in seconds; null = no expiry (the DAC tool's 3600 deletes data after an hour).</summary>
    public long? Lifetime { get; init; }
    public int BatchSize { get; init; } = 100;
    public int ThrottleLimit { get; init; } = 4;
    /// <summary>"scope:name" or "name" (in Scope): files are attached to it; created with one rule when missing.</summary>
    public string? Dataset { get; init; }
    public string? SummaryPath { get; init; }
    /// <summary>Protocol implementation filter like rucio's --impl (e.g. gfal.NoRename); null = any.</summary>
    public string? Impl { get; init; }
    /// <summary>Force a scheme like rucio's --protocol; null = the RSE's priority order.</summary>
    public string? Scheme { get; init; }
    /// <summary>
    /// Rucio's --register-after-upload: upload first (checksums computed while the upload reads the file, the only
    /// read), then register the replica directly as available. Default: register in state C first (Rucio's default),
    /// which needs the checksums before the upload.
    /// </summary>
    public bool RegisterAfterUpload { get; init; }
    /// <summary>Transfer attempts per file (native) or per batch (CLI).</summary>
    public int Attempts { get; init; } = 3;
    /// <summary>Back-off before retry n (0-based). Default 1, 2, 4... s.</summary>
    public Func<int, TimeSpan> Backoff { get; init; } = n => TimeSpan.FromSeconds(Math.Pow(2, n));
    /// <summary>-RucioCommand: the rucio executable and leading arguments (e.g. apptainer exec image.sif rucio).</summary>
    public IReadOnlyList<string>? RucioCommand { get; init; }
    /// <summary>Where the CLI transport makes one working directory per batch.</summary>
    public string? WorkDirectory { get; init; }
    /// <summary>rucio.cfg handed to the CLI transport as --config.</summary>
    public string? ConfigPath { get; init; }
    public TimeSpan BatchTimeout { get; init; } = TimeSpan.FromHours(6);
    /// <summary>Extra environment for the CLI transport (e.g. credentials passed without the command line).</summary>
    public IReadOnlyDictionary<string, string>? CommandEnvironment { get; init; }

    public (string Scope, string Name)? DatasetDid =>
        Dataset is null ? null
        : Dataset.IndexOf(':') is var i and > 0 ? (Dataset[..i], Dataset[(i + 1)..])
        : (Scope, Dataset);
}
