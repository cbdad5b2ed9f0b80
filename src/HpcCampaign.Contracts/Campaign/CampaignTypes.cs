namespace HpcCampaign;

/// <summary>Summary of one .aca archive (Get-Campaign), in the spirit of hpc-campaign's `info`.</summary>
public sealed class CampaignInfo
{
    public CampaignInfo(string path, string name, string version, DateTimeOffset created, long length,
        IReadOnlyList<string> hosts, IReadOnlyList<string> directories, IReadOnlyList<string> keyIds,
        int datasetCount, int deletedDatasetCount, int replicaCount, int fileCount, IReadOnlyList<string> timeSeries,
        IReadOnlyList<string> archiveStorages)
    {
        Path = path; Name = name; Version = version; Created = created; Length = length; Hosts = hosts;
        Directories = directories; KeyIds = keyIds; DatasetCount = datasetCount; DeletedDatasetCount = deletedDatasetCount;
        ReplicaCount = replicaCount; FileCount = fileCount; TimeSeries = timeSeries; ArchiveStorages = archiveStorages;
    }

    /// <summary>Full path of the .aca file.</summary>
    public string Path { get; }
    public string Name { get; }
    public string Version { get; }
    public DateTimeOffset Created { get; }
    /// <summary>Size of the .aca file in bytes.</summary>
    public long Length { get; }
    /// <summary>"short (long)" per host row.</summary>
    public IReadOnlyList<string> Hosts { get; }
    /// <summary>"host:directory" per directory row.</summary>
    public IReadOnlyList<string> Directories { get; }
    public IReadOnlyList<string> KeyIds { get; }
    /// <summary>Live datasets.</summary>
    public int DatasetCount { get; }
    public int DeletedDatasetCount { get; }
    public int ReplicaCount { get; }
    public int FileCount { get; }
    public IReadOnlyList<string> TimeSeries { get; }
    /// <summary>"system host:directory/tarname" per archive row.</summary>
    public IReadOnlyList<string> ArchiveStorages { get; }
    public override string ToString() => Path;
}

/// <summary>A dataset of an archive with its replicas (Get-CampaignDataset).</summary>
public sealed class CampaignDataset
{
    public CampaignDataset(string archivePath, long datasetId, string name, string uuid, string format,
        DateTimeOffset? modified, long modTime, DateTimeOffset? deleted, string? timeSeries, long timeSeriesOrder,
        IReadOnlyList<CampaignReplica> replicas)
    {
        ArchivePath = archivePath; DatasetId = datasetId; Name = name; Uuid = uuid; Format = format; Modified = modified;
        ModTime = modTime; Deleted = deleted; TimeSeries = timeSeries; TimeSeriesOrder = timeSeriesOrder; Replicas = replicas;
    }

    public string ArchivePath { get; }
    public long DatasetId { get; }
    public string Name { get; }
    /// <summary>32 lowercase hex characters (UUIDv3 of directory + "/" + path for files).</summary>
    public string Uuid { get; }
    /// <summary>ADIOS, HDF5, TEXT, IMAGE or SCALAR_FIELD.</summary>
    public string Format { get; }
    public DateTimeOffset? Modified { get; }
    /// <summary>The raw modtime column (nanoseconds since the Unix epoch in archives this module writes).</summary>
    public long ModTime { get; }
    public DateTimeOffset? Deleted { get; }
    public bool IsDeleted => Deleted is not null;
    public string? TimeSeries { get; }
    public long TimeSeriesOrder { get; }
    public IReadOnlyList<CampaignReplica> Replicas { get; }
    public override string ToString() => Name;
}

/// <summary>One physical copy of a dataset.</summary>
public sealed class CampaignReplica
{
    public CampaignReplica(string archivePath, long replicaId, string datasetName, string datasetUuid, string hostName,
        string? longHostName, long directoryId, string directory, long archiveId, string? archiveSystem, string? tarName,
        string name, DateTimeOffset? modified, DateTimeOffset? deleted, string? keyId, long size, int? width, int? height,
        IReadOnlyList<CampaignFile> files)
    {
        ArchivePath = archivePath; ReplicaId = replicaId; DatasetName = datasetName; DatasetUuid = datasetUuid;
        HostName = hostName; LongHostName = longHostName; DirectoryId = directoryId; Directory = directory;
        ArchiveId = archiveId; ArchiveSystem = archiveSystem; TarName = tarName; Name = name; Modified = modified;
        Deleted = deleted; KeyId = keyId; Size = size; Width = width; Height = height; Files = files;
    }

    public string ArchivePath { get; }
    public long ReplicaId { get; }
    public string DatasetName { get; }
    public string DatasetUuid { get; }
    public string HostName { get; }
    public string? LongHostName { get; }
    public long DirectoryId { get; }
    public string Directory { get; }
    /// <summary>0 = a normal location; otherwise the archival storage (archive row) holding it.</summary>
    public long ArchiveId { get; }
    public string? ArchiveSystem { get; }
    public string? TarName { get; }
    /// <summary>Path relative to <see cref="Directory"/>.</summary>
    public string Name { get; }
    public DateTimeOffset? Modified { get; }
    public DateTimeOffset? Deleted { get; }
    public bool IsDeleted => Deleted is not null;
    /// <summary>Id of the key that seals the embedded files (null = not encrypted).</summary>
    public string? KeyId { get; }
    public bool IsEncrypted => KeyId is not null;
    public long Size { get; }
    public int? Width { get; }
    public int? Height { get; }
    public IReadOnlyList<CampaignFile> Files { get; }
    public override string ToString() => Name;
}

/// <summary>A blob embedded in an archive (file table).</summary>
public sealed class CampaignFile
{
    public CampaignFile(string archivePath, long fileId, long replicaId, string datasetName, string name, bool isCompressed,
        long length, long compressedLength, long storedLength, DateTimeOffset? modified, string checksum, string? keyId)
    {
        ArchivePath = archivePath; FileId = fileId; ReplicaId = replicaId; DatasetName = datasetName; Name = name;
        IsCompressed = isCompressed; Length = length; CompressedLength = compressedLength; StoredLength = storedLength;
        Modified = modified; Checksum = checksum; KeyId = keyId;
    }

    public string ArchivePath { get; }
    public long FileId { get; }
    public long ReplicaId { get; }
    public string DatasetName { get; }
    public string Name { get; }
    public bool IsCompressed { get; }
    /// <summary>Original (uncompressed) length, lenorig.</summary>
    public long Length { get; }
    /// <summary>lencompressed (== Length when stored raw), before encryption.</summary>
    public long CompressedLength { get; }
    /// <summary>Bytes in the blob column (40 more than CompressedLength when encrypted).</summary>
    public long StoredLength { get; }
    public DateTimeOffset? Modified { get; }
    /// <summary>Lowercase hex SHA-1 of the original bytes.</summary>
    public string Checksum { get; }
    public string? KeyId { get; }
    public bool IsEncrypted => KeyId is not null;
    public override string ToString() => Name;
}

/// <summary>An archival storage location (Add-CampaignArchive).</summary>
public sealed class CampaignArchiveStorage
{
    public CampaignArchiveStorage(string archivePath, long archiveId, string hostName, long directoryId, string directory,
        string tarName, string system, int importedReplicas)
    {
        ArchivePath = archivePath; ArchiveId = archiveId; HostName = hostName; DirectoryId = directoryId;
        Directory = directory; TarName = tarName; System = system; ImportedReplicas = importedReplicas;
    }

    public string ArchivePath { get; }
    public long ArchiveId { get; }
    public string HostName { get; }
    public long DirectoryId { get; }
    public string Directory { get; }
    /// <summary>'' = the directory itself, else a TAR file relative to it.</summary>
    public string TarName { get; }
    public string System { get; }
    /// <summary>Replicas created from a TAR index.</summary>
    public int ImportedReplicas { get; }
    public override string ToString() => $"{HostName}:{Directory}/{TarName}";
}

/// <summary>A time series and its members in order (Set-CampaignTimeSeries).</summary>
public sealed class CampaignTimeSeries
{
    public CampaignTimeSeries(string archivePath, long timeSeriesId, string name, IReadOnlyList<string> datasets)
    {
        ArchivePath = archivePath; TimeSeriesId = timeSeriesId; Name = name; Datasets = datasets;
    }

    public string ArchivePath { get; }
    public long TimeSeriesId { get; }
    public string Name { get; }
    public IReadOnlyList<string> Datasets { get; }
    public override string ToString() => Name;
}

/// <summary>An embedded file written out by Export-CampaignFile.</summary>
public sealed class CampaignExportedFile
{
    public CampaignExportedFile(string path, string archivePath, long fileId, string name, long length, string checksum)
    {
        Path = path; ArchivePath = archivePath; FileId = fileId; Name = name; Length = length; Checksum = checksum;
    }

    /// <summary>Where the file was written.</summary>
    public string Path { get; }
    public string ArchivePath { get; }
    public long FileId { get; }
    public string Name { get; }
    public long Length { get; }
    /// <summary>SHA-1 of the written bytes; verified equal to the archive's checksum.</summary>
    public string Checksum { get; }
    public override string ToString() => Path;
}

/// <summary>One step of Update-Campaign.</summary>
public sealed class CampaignUpgrade
{
    public CampaignUpgrade(string path, string fromVersion, string toVersion)
    {
        Path = path; FromVersion = fromVersion; ToVersion = toVersion;
    }

    public string Path { get; }
    public string FromVersion { get; }
    public string ToVersion { get; }
    public override string ToString() => $"{Path}: {FromVersion} -> {ToVersion}";
}

/// <summary>A TAR index (taridx CSV) written by New-CampaignTarIndex.</summary>
public sealed class CampaignTarIndex
{
    public CampaignTarIndex(string path, string tarPath, int entryCount)
    {
        Path = path; TarPath = tarPath; EntryCount = entryCount;
    }

    public string Path { get; }
    public string TarPath { get; }
    public int EntryCount { get; }
    public override string ToString() => Path;
}

/// <summary>A visualization sequence (Add-CampaignVisualization).</summary>
public sealed class CampaignVisualization
{
    public CampaignVisualization(string archivePath, long visualizationId, string name, string type, string? thumbnailUuid,
        IReadOnlyList<string> variables, IReadOnlyList<string> items)
    {
        ArchivePath = archivePath; VisualizationId = visualizationId; Name = name; Type = type; ThumbnailUuid = thumbnailUuid;
        Variables = variables; Items = items;
    }

    public string ArchivePath { get; }
    public long VisualizationId { get; }
    public string Name { get; }
    public string Type { get; }
    public string? ThumbnailUuid { get; }
    /// <summary>"role: variable (dataset)" per variable.</summary>
    public IReadOnlyList<string> Variables { get; }
    /// <summary>Item dataset uuids in order.</summary>
    public IReadOnlyList<string> Items { get; }
    public override string ToString() => Name;
}
