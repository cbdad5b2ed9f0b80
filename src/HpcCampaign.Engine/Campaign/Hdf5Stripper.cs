using PureHDF;

namespace HpcCampaign.Engine.Campaign;

/// <summary>
/// The data-stripped HDF5 copy of spec §3.2: groups and attributes recreated, datasets with ≤ 128 elements copied
/// with their data, larger ones recreated with the same shape and type but no data written. Types PureHDF cannot
/// map to a .NET element type (compound, reference, opaque...) are left out and reported in <see cref="Skipped"/>.
/// </summary>
public sealed class Hdf5Stripper
{
    public const int SmallDatasetLimit = 128;
    private static readonly byte[] Signature = { 0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A };

    public List<string> Skipped { get; } = new();

    /// <summary>True when the file carries the HDF5 signature at offset 0, 512, 1024, 2048 ... (user block sizes).</summary>
    public static bool IsHdf5(string path)
    {
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            var buf = new byte[8];
            for (long offset = 0; offset + 8 <= fs.Length; offset = offset == 0 ? 512 : offset * 2)
            {
                fs.Position = offset;
                if (fs.Read(buf, 0, 8) == 8 && buf.AsSpan().SequenceEqual(Signature)) return true;
                if (offset > (1L << 30)) break;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return false;
    }

    /// <summary>Writes the stripped copy of <paramref name="source"/> and returns its bytes.</summary>
    public byte[] Strip(string source)
    {
        var output = new H5File();
        using (var input = H5File.OpenRead(source))
        {
            CopyAttributes(input, output.Attributes, "/");
            CopyGroup(input, output, "/");
        }
        var ms = new MemoryStream();
        using (output.BeginWrite(ms)) { }
        return ms.ToArray();
    }

    private void CopyGroup(IH5Group source, H5Group target, string path)
    {
        foreach (var child in source.Children())
        {
            var childPath = path.TrimEnd('/') + "/" + child.Name;
            switch (child)
            {
                case IH5Group g:
                    var group = new H5Group();
                    CopyAttributes(g, group.Attributes, childPath);
                    CopyGroup(g, group, childPath);
                    target[child.Name] = group;
                    break;
                case IH5Dataset d:
                    var copy = CopyDataset(d, childPath);
                    if (copy is not null)
                    {
                        CopyAttributes(d, copy.Attributes, childPath);
                        target[child.Name] = copy;
                    }
                    break;
                default:
                    Skipped.Add(childPath);
                    break;
            }
        }
    }

    private static Type? ElementType(IH5DataType type) => type.Class switch
    {
        H5DataTypeClass.FixedPoint => (type.Size, type.FixedPoint.IsSigned) switch
        {
            (1, true) => typeof(sbyte), (1, false) => typeof(byte),
            (2, true) => typeof(short), (2, false) => typeof(ushort),
            (4, true) => typeof(int), (4, false) => typeof(uint),
            (8, true) => typeof(long), (8, false) => typeof(ulong),
            _ => null,
        },
        H5DataTypeClass.FloatingPoint => type.Size switch { 4 => typeof(float), 8 => typeof(double), _ => null },
        H5DataTypeClass.String => typeof(string),
        // variable-length strings (h5py and PureHDF write strings this way); other sequences are not mapped
        H5DataTypeClass.VariableLength when VariableLengthBase(type) is null or { Class: H5DataTypeClass.FixedPoint, Size: 1 } or { Class: H5DataTypeClass.String } => typeof(string),
        _ => null,
    };

    private static IH5DataType? VariableLengthBase(IH5DataType type)
    {
        try { return type.VariableLength.BaseType; }
        catch (Exception) { return null; }
    }

    private static ulong ElementCount(IH5Dataspace space) =>
        space.Type switch
        {
            H5DataspaceType.Null => 0,
            H5DataspaceType.Scalar => 1,
            _ => space.Dimensions.Aggregate(1UL, (a, b) => a * b),
        };

    private H5Object? CopyDataset(IH5Dataset source, string path)
    {
        var element = ElementType(source.Type);
        if (element is null || source.Space.Type == H5DataspaceType.Null)
        {
            Skipped.Add(path);
            return null;
        }
        var dims = source.Space.Type == H5DataspaceType.Scalar ? Array.Empty<ulong>() : source.Space.Dimensions;
        var count = ElementCount(source.Space);
        var method = typeof(Hdf5Stripper).GetMethod(count <= SmallDatasetLimit ? nameof(WithData) : nameof(ShapeOnly),
            System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.MakeGenericMethod(element);
        return (H5Object)method.Invoke(null, new object[] { source, dims })!;
    }

    private static H5Object WithData<T>(IH5Dataset source, ulong[] dims)
    {
        if (dims.Length == 0) return new H5Dataset(source.Read<T>()!);
        return new H5Dataset(source.Read<T[]>(), fileDims: dims);
    }

    private static H5Object ShapeOnly<T>(IH5Dataset source, ulong[] dims) => new H5Dataset<T[]>(fileDims: dims);

    private void CopyAttributes(IH5Object source, IDictionary<string, object> target, string path)
    {
        foreach (var attribute in source.Attributes())
        {
            var element = ElementType(attribute.Type);
            if (element is null || attribute.Space.Type == H5DataspaceType.Null)
            {
                Skipped.Add(path + "@" + attribute.Name);
                continue;
            }
            var method = typeof(Hdf5Stripper).GetMethod(nameof(ReadAttribute),
                System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.MakeGenericMethod(element);
            target[attribute.Name] = method.Invoke(null, new object[] { attribute })!;
        }
    }

    private static object ReadAttribute<T>(IH5Attribute attribute)
    {
        if (attribute.Space.Type == H5DataspaceType.Scalar) return attribute.Read<T>()!;
        var dims = attribute.Space.Dimensions;
        var data = attribute.Read<T[]>();
        return dims.Length == 1 ? data : new H5Attribute(data, dims);
    }
}
