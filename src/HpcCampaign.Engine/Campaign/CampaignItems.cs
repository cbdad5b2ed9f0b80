using SkiaSharp;

namespace HpcCampaign.Engine.Campaign;

public enum CampaignItemKind { Dataset, Text, Image }

/// <summary>One thing to add: a local file/folder (or a remote path), where it is recorded, and how.</summary>
public sealed class CampaignItemRequest
{
    /// <summary>Full local path (ignored for remote hosts, where only <see cref="ReplicaName"/> counts).</summary>
    public required string SourcePath { get; init; }
    /// <summary>Path relative to <see cref="Directory"/>, '/'-separated; recorded as replica name.</summary>
    public required string ReplicaName { get; init; }
    /// <summary>Absolute directory (or S3 bucket) the replica name is relative to.</summary>
    public required string Directory { get; init; }
    public string? DatasetName { get; init; }
    public CampaignItemKind Kind { get; init; }
    public bool Store { get; init; }
    public int ThumbnailWidth { get; init; }
    public int ThumbnailHeight { get; init; }
    /// <summary>For remote datasets: modification time in ns (0 = unknown).</summary>
    public long RemoteModTime { get; init; }
}

/// <summary>A replica with everything read from disk, ready to insert.</summary>
public sealed class PreparedReplica
{
    public required string Directory { get; init; }
    public required string Name { get; init; }
    public required long ModTime { get; init; }
    public required long Size { get; init; }
    public int? Width { get; init; }
    public int? Height { get; init; }
    public List<EncodedBlob> Files { get; } = new();
}

public sealed class PreparedItem
{
    public required string DatasetName { get; init; }
    public required string Uuid { get; init; }
    public required string Format { get; init; }
    public required long ModTime { get; init; }
    public List<PreparedReplica> Replicas { get; } = new();
    public List<string> Warnings { get; } = new();
}

/// <summary>Reads what spec §3 says to store per kind. Thread-safe; called in parallel.</summary>
public static class CampaignItemReader
{
    public static PreparedItem Prepare(CampaignItemRequest request, byte[]? key, CampaignHost host)
    {
        var datasetName = request.DatasetName ?? request.ReplicaName;
        CheckName(datasetName, request.SourcePath);
        CheckName(request.ReplicaName, request.SourcePath);
        var uuid = CampaignIds.ForPath(request.Directory, request.ReplicaName);
        if (host.IsRemote && request.Kind == CampaignItemKind.Image)
            throw new HpcException("RemoteImageNotSupported", HpcErrorKind.InvalidArgument,
                $"'{request.ReplicaName}': an image on remote host '{host.ShortName}' cannot be measured, and ADIOS2 needs its resolution; add it from a local copy.", request.SourcePath);
        if (host.IsRemote)
        {
            var item = new PreparedItem
            {
                DatasetName = datasetName, Uuid = uuid, ModTime = request.RemoteModTime,
                Format = request.Kind switch { CampaignItemKind.Text => "TEXT", CampaignItemKind.Image => "IMAGE", _ => "ADIOS" },
            };
            item.Replicas.Add(new PreparedReplica { Directory = request.Directory, Name = request.ReplicaName, ModTime = request.RemoteModTime, Size = 0 });
            return item;
        }
        return request.Kind switch
        {
            CampaignItemKind.Text => Text(request, datasetName, uuid, key),
            CampaignItemKind.Image => Image(request, datasetName, uuid, key),
            _ => Dataset(request, datasetName, uuid, key),
        };
    }

    internal static void CheckName(string name, object target)
    {
        if (name.Contains('\''))
            throw new HpcException("NameContainsQuote", HpcErrorKind.InvalidArgument,
                $"'{name}' contains a single quote; ADIOS2 splices names into SQL, so such names cannot be stored.", target);
        if (name.Length == 0)
            throw new HpcException("EmptyName", HpcErrorKind.InvalidArgument, "A dataset or replica name cannot be empty.", target);
    }

    private static HpcException NotFound(string path) =>
        new("SourceNotFound", HpcErrorKind.ObjectNotFound, $"'{path}' does not exist.", path);

    private static long MTime(FileSystemInfo info) => CampaignDb.ToNs(info.LastWriteTimeUtc);

    private static PreparedItem Text(CampaignItemRequest r, string datasetName, string uuid, byte[]? key)
    {
        var info = new FileInfo(r.SourcePath);
        if (!info.Exists) throw NotFound(r.SourcePath);
        var item = new PreparedItem { DatasetName = datasetName, Uuid = uuid, Format = "TEXT", ModTime = MTime(info) };
        var replica = new PreparedReplica { Directory = r.Directory, Name = r.ReplicaName, ModTime = item.ModTime, Size = info.Length };
        if (r.Store)
        {
            CheckName(info.Name, r.SourcePath);
            replica.Files.Add(BlobCodec.EncodeFile(info.FullName, info.Name, compress: true, key, item.ModTime));
        }
        item.Replicas.Add(replica);
        return item;
    }

    private static PreparedItem Dataset(CampaignItemRequest r, string datasetName, string uuid, byte[]? key)
    {
        if (System.IO.Directory.Exists(r.SourcePath))
        {
            var dir = new DirectoryInfo(r.SourcePath);
            if (!File.Exists(Path.Combine(dir.FullName, "md.idx")) || !File.Exists(Path.Combine(dir.FullName, "data.0")))
                throw Unknown(r.SourcePath);
            var item = new PreparedItem { DatasetName = datasetName, Uuid = uuid, Format = "ADIOS", ModTime = MTime(dir) };
            long size = 0;
            foreach (var f in dir.EnumerateFiles("*", SearchOption.AllDirectories)) size += f.Length;
            var replica = new PreparedReplica { Directory = r.Directory, Name = r.ReplicaName, ModTime = item.ModTime, Size = size };
            replica.Files.Add(BlobCodec.EncodeBytes(BpMetadata.Build(dir.FullName), "metadata", compress: true, key, item.ModTime));
            var profiling = new FileInfo(Path.Combine(dir.FullName, "profiling.json"));
            if (profiling.Exists)
                replica.Files.Add(BlobCodec.EncodeFile(profiling.FullName, "profiling.json", compress: true, key, MTime(profiling)));
            item.Replicas.Add(replica);
            return item;
        }
        var info = new FileInfo(r.SourcePath);
        if (!info.Exists) throw NotFound(r.SourcePath);
        if (!Hdf5Stripper.IsHdf5(info.FullName)) throw Unknown(r.SourcePath);
        CheckName(info.Name, r.SourcePath);
        var stripper = new Hdf5Stripper();
        byte[] stripped;
        try
        {
            stripped = stripper.Strip(info.FullName);
        }
        catch (Exception ex) when (ex is not HpcException and not OperationCanceledException)
        {
            throw new HpcException("Hdf5ReadFailed", HpcErrorKind.InvalidData, $"Cannot read HDF5 file '{r.SourcePath}': {ex.Message}", r.SourcePath, ex);
        }
        var h5 = new PreparedItem { DatasetName = datasetName, Uuid = uuid, Format = "HDF5", ModTime = MTime(info) };
        var rep = new PreparedReplica { Directory = r.Directory, Name = r.ReplicaName, ModTime = h5.ModTime, Size = info.Length };
        rep.Files.Add(BlobCodec.EncodeBytes(stripped, info.Name, compress: true, key, h5.ModTime));
        h5.Replicas.Add(rep);
        foreach (var s in stripper.Skipped) h5.Warnings.Add($"{r.SourcePath}: '{s}' has a type the stripped copy cannot hold; left out.");
        return h5;
    }

    private static HpcException Unknown(string path) =>
        new("UnknownDatasetFormat", HpcErrorKind.InvalidData,
            $"'{path}' is neither an ADIOS2 BP folder (md.idx and data.0) nor an HDF5 file.", path);

    private static PreparedItem Image(CampaignItemRequest r, string datasetName, string uuid, byte[]? key)
    {
        var info = new FileInfo(r.SourcePath);
        if (!info.Exists) throw NotFound(r.SourcePath);
        int width, height;
        SKEncodedImageFormat format;
        using (var codec = SKCodec.Create(info.FullName))
        {
            if (codec is null)
                throw new HpcException("NotAnImage", HpcErrorKind.InvalidData, $"'{r.SourcePath}' is not an image SkiaSharp can read.", r.SourcePath);
            width = codec.Info.Width;
            height = codec.Info.Height;
            format = codec.EncodedFormat;
        }
        var ext = info.Extension;
        var item = new PreparedItem { DatasetName = datasetName, Uuid = uuid, Format = "IMAGE", ModTime = MTime(info) };
        var replica = new PreparedReplica
        {
            Directory = r.Directory, Name = r.ReplicaName, ModTime = item.ModTime, Size = info.Length, Width = width, Height = height,
        };
        item.Replicas.Add(replica);
        if (r.Store)
        {
            replica.Files.Add(BlobCodec.EncodeFile(info.FullName, $"{width}x{height}{ext}", compress: false, key, item.ModTime));
        }
        else if (r.ThumbnailWidth > 0 && r.ThumbnailHeight > 0)
        {
            var (tw, th, bytes) = Thumbnail(info.FullName, width, height, r.ThumbnailWidth, r.ThumbnailHeight, format);
            var now = CampaignDb.NowNs();
            var thumb = new PreparedReplica
            {
                Directory = r.Directory, Name = "thumbnails/" + r.ReplicaName.TrimStart('/'), ModTime = now, Size = bytes.Length,
                Width = tw, Height = th,
            };
            thumb.Files.Add(BlobCodec.EncodeBytes(bytes, $"{tw}x{th}{ext}", compress: false, key, now));
            item.Replicas.Add(thumb);
        }
        return item;
    }

    /// <summary>Fits inside maxW×maxH keeping the aspect ratio, never enlarges (like Pillow's thumbnail); same format.</summary>
    internal static (int Width, int Height, byte[] Bytes) Thumbnail(string path, int width, int height, int maxW, int maxH, SKEncodedImageFormat format)
    {
        double scale = Math.Min(1.0, Math.Min((double)maxW / width, (double)maxH / height));
        int tw = Math.Max(1, (int)Math.Round(width * scale)), th = Math.Max(1, (int)Math.Round(height * scale));
        using var source = SKBitmap.Decode(path)
            ?? throw new HpcException("NotAnImage", HpcErrorKind.InvalidData, $"'{path}' cannot be decoded.", path);
        using var resized = source.Resize(new SKImageInfo(tw, th, source.ColorType, source.AlphaType), new SKSamplingOptions(SKCubicResampler.Mitchell))
            ?? throw new HpcException("ThumbnailFailed", HpcErrorKind.InvalidData, $"Cannot scale '{path}'.", path);
        using var image = SKImage.FromBitmap(resized);
        var outFormat = format is SKEncodedImageFormat.Jpeg or SKEncodedImageFormat.Webp or SKEncodedImageFormat.Png ? format : SKEncodedImageFormat.Png;
        using var data = image.Encode(outFormat, 90)
            ?? throw new HpcException("ThumbnailFailed", HpcErrorKind.InvalidData, $"Cannot encode a thumbnail of '{path}'.", path);
        return (tw, th, data.ToArray());
    }
}

/// <summary>The BP4/BP5 `metadata` blob of spec §3.1 for a closed dataset.</summary>
public static class BpMetadata
{
    public static byte[] Build(string bpDirectory)
    {
        var mmd = Path.Combine(bpDirectory, "mmd.0");
        var isBp5 = File.Exists(mmd);
        var parts = isBp5
            ? new[] { Path.Combine(bpDirectory, "md.0"), mmd, Path.Combine(bpDirectory, "md.idx") }
            : new[] { Path.Combine(bpDirectory, "md.0"), Path.Combine(bpDirectory, "md.idx") };
        var lengths = parts.Select(p => File.Exists(p) ? new FileInfo(p).Length : 0L).ToArray();
        var ms = new MemoryStream((int)Math.Min(int.MaxValue / 2, 8 + 8 * parts.Length + lengths.Sum()));
        ms.Write(System.Text.Encoding.ASCII.GetBytes(isBp5 ? "BP5     " : "BP4     "));
        Span<byte> u64 = stackalloc byte[8];
        foreach (var len in lengths)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(u64, (ulong)len);
            ms.Write(u64);
        }
        foreach (var p in parts)
        {
            if (!File.Exists(p)) continue;
            using var fs = new FileStream(p, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
            fs.CopyTo(ms);
        }
        return ms.ToArray();
    }
}
