using System.IO.Compression;
using System.Security.Cryptography;
using static TorchSharp.torch;

namespace NewLlm.Core.Tests;

/// <summary>
/// <see cref="PyTorchCheckpointRecords"/>, the read side of <see cref="PyTorchCheckpoint.Write(Stream, Func{IReadOnlyDictionary{string, string}, IEnumerable{KeyValuePair{string, byte[]}}}?)"/>:
/// a caller's own records and every record's SHA-256 come back as written, and what does not fit is refused naming the file and the record.
/// </summary>
public sealed class PyTorchCheckpointRecordsTests
{
    [Fact]
    public void TheCallersRecordsAndEveryRecordsHashReadBackAsWritten()
    {
        byte[] note = "a note of the caller's own"u8.ToArray();
        IReadOnlyDictionary<string, string>? written = null;
        using var stream = new MemoryStream();
        using (Tensor weight = ones(3, 4))
        using (var checkpoint = new PyTorchCheckpoint { ModelState = new Dictionary<string, Tensor> { ["w"] = weight } })
        {
            checkpoint.Write(stream, hashes =>
            {
                written = hashes;
                return [new("mine/note.txt", note)];
            });
        }

        using PyTorchCheckpointRecords records = PyTorchCheckpointRecords.Open(stream, "mem.pt");
        Assert.Equal(note, records.Read("mine/note.txt", note.Length));
        Assert.Equal(note.Length, records.Sizes["mine/note.txt"]);
        Assert.Equal(written!.Keys.Append("mine/note.txt").Order(StringComparer.Ordinal), records.Sizes.Keys.Order(StringComparer.Ordinal));
        foreach ((string name, string hash) in written)
        {
            Assert.Equal(hash, records.Sha256(name));
        }

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(note)), records.Sha256("mine/note.txt"));
        var tooBig = Assert.Throws<InvalidDataException>(() => records.Read("mine/note.txt", note.Length - 1));
        Assert.StartsWith("mem.pt: ", tooBig.Message, StringComparison.Ordinal);
        Assert.Contains("'archive/mine/note.txt' declares", tooBig.Message, StringComparison.Ordinal);
        Assert.Contains("'archive/absent' is missing", Assert.Throws<InvalidDataException>(() => records.Sha256("absent")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARecordWhoseBytesDoNotMatchItsCrcIsRefusedNamingIt()
    {
        using var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach ((string name, string text) in new[] { ("archive/data.pkl", "pickle"), ("archive/mine", "ABCDEFGH") })
            {
                using Stream entry = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                entry.Write(System.Text.Encoding.ASCII.GetBytes(text));
            }
        }

        byte[] bytes = stream.ToArray();
        bytes[bytes.AsSpan().IndexOf("ABCDEFGH"u8)] ^= 0x01; // stored, so a changed byte of the file is a changed byte of the record
        using PyTorchCheckpointRecords records = PyTorchCheckpointRecords.Open(new MemoryStream(bytes), "flipped.pt");
        foreach (Action read in new Action[] { () => records.Read("mine", 8), () => records.Sha256("mine") })
        {
            var error = Assert.Throws<InvalidDataException>(read);
            Assert.StartsWith("flipped.pt: ", error.Message, StringComparison.Ordinal);
            Assert.Contains("'archive/mine'", error.Message, StringComparison.Ordinal);
            Assert.Contains("CRC-32", error.Message, StringComparison.Ordinal);
        }
    }
}
