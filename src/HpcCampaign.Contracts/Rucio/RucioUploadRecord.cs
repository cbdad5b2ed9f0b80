namespace HpcCampaign;

/// <summary>What happened to one file of a Rucio batch upload.</summary>
public enum RucioUploadState
{
    /// <summary>Uploaded, verified (size and checksum) and registered as an available replica.</summary>
    Uploaded,
    /// <summary>Already registered on the RSE with the same size and adler32 (a re-run): nothing was sent.</summary>
    Skipped,
    /// <summary>Not uploaded or not registered; Error says why. The other files went on.</summary>
    Failed,
}

/// <summary>
/// One file of a Rucio batch upload (Send-RucioBatch). Scope/Name/Bytes/Adler32/Md5/Pfn/Rse/Guid are the fields of
/// Rucio's upload summary (rucio_upload.json); State and Error say how the upload went.
/// </summary>
public sealed class RucioUploadRecord
{
    public RucioUploadRecord(string path, string scope, string name, long bytes, string? adler32, string? md5, string? pfn,
        string rse, string? guid, RucioUploadState state, string? error, string? errorId, int batch, int attempts)
    {
        Path = path;
        Scope = scope;
        Name = name;
        Bytes = bytes;
        Adler32 = adler32;
        Md5 = md5;
        Pfn = pfn;
        Rse = rse;
        Guid = guid;
        State = state;
        Error = error;
        ErrorId = errorId;
        Batch = batch;
        Attempts = attempts;
    }

    /// <summary>The local file.</summary>
    public string Path { get; }
    public string Scope { get; }
    public string Name { get; }
    public long Bytes { get; }
    /// <summary>8 lower-case hex digits.</summary>
    public string? Adler32 { get; }
    /// <summary>32 lower-case hex digits.</summary>
    public string? Md5 { get; }
    /// <summary>The physical file name on the RSE.</summary>
    public string? Pfn { get; }
    public string Rse { get; }
    /// <summary>32 lower-case hex digits, no dashes (Rucio's form).</summary>
    public string? Guid { get; }
    public RucioUploadState State { get; }
    public string? Error { get; }
    /// <summary>Stable id of the failure (e.g. ChecksumMismatch), null on success.</summary>
    public string? ErrorId { get; }
    /// <summary>1-based batch number.</summary>
    public int Batch { get; }
    /// <summary>How many transfer attempts were made (0 when nothing had to be sent).</summary>
    public int Attempts { get; }
    /// <summary>The DID, scope:name.</summary>
    public string Did => Scope + ":" + Name;

    public override string ToString() => Did;
}
