using System.IO.Compression;

namespace NewLlm.Training;

/// <summary>
/// The PyTorch part of a checkpoint as <c>torch.save</c> lays it out, pickled once into memory: its record names under
/// the archive's top folder in <c>torch.save</c>'s order (<c>data.pkl</c>, <c>byteorder</c>, the storages, <c>version</c>),
/// each opened as a stream, so that the checkpoint file is written from it without a second copy of every tensor.
/// </summary>
internal sealed class PyTorchRecords : IDisposable
{
    private const string ByteOrder = "byteorder";
    private static readonly byte[] LittleEndian = "little"u8.ToArray();
    private readonly MemoryStream _archive;
    private readonly ZipArchive _zip;
    private readonly Dictionary<string, ZipArchiveEntry> _entries;

    /// <summary>Takes the zip archive the pickler wrote (positioned anywhere); disposes it with this.</summary>
    public PyTorchRecords(MemoryStream archive)
    {
        _archive = archive;
        _archive.Position = 0;
        _zip = new ZipArchive(_archive, ZipArchiveMode.Read, leaveOpen: true);
        _entries = _zip.Entries.ToDictionary(e => e.FullName[(e.FullName.IndexOf('/', StringComparison.Ordinal) + 1)..], StringComparer.Ordinal);
        Names =
        [
            PyTorchCheckpointPart.DataPickle,
            ByteOrder,
            .. _entries.Keys.Where(k => k.StartsWith("data/", StringComparison.Ordinal)).OrderBy(k => int.Parse(k.AsSpan(5), System.Globalization.CultureInfo.InvariantCulture)),
            "version",
        ];
    }

    /// <summary>The record names, in the order they are written.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>A record's content, read from the archive in memory.</summary>
    public Stream Open(string name) => name == ByteOrder ? new MemoryStream(LittleEndian, writable: false) : _entries[name].Open();

    /// <inheritdoc/>
    public void Dispose()
    {
        _zip.Dispose();
        _archive.Dispose();
    }
}
