using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace NewLlm.Core.Tests;

/// <summary>
/// Writes <c>torch.save</c>-shaped files by hand, so that tests can make the hostile ones PyTorch never writes: a
/// pickle of protocol 2 (dicts, lists, tuples, strings, integers, tensors as <c>_rebuild_tensor_v2</c> of a storage)
/// and any records, each stored or deflated, with any declared content.
/// </summary>
internal sealed class TorchFileBuilder
{
    private readonly List<(string Name, Action<Stream> Write, bool Deflate)> _records = [];

    /// <summary>The archive's top folder.</summary>
    public string Top { get; init; } = "archive";

    /// <summary>Adds a record with the given bytes.</summary>
    public TorchFileBuilder Record(string name, byte[] bytes, bool deflate = false)
    {
        _records.Add((name, s => s.Write(bytes), deflate));
        return this;
    }

    /// <summary>Adds a record of <paramref name="count"/> zero bytes, deflated (a few kilobytes per hundred megabytes in the file).</summary>
    public TorchFileBuilder Zeros(string name, long count)
    {
        _records.Add((name, s =>
        {
            byte[] block = new byte[1 << 20];
            for (long left = count; left > 0; left -= block.Length)
            {
                s.Write(block, 0, (int)Math.Min(block.Length, left));
            }
        }, true));
        return this;
    }

    /// <summary>Adds <c>data.pkl</c>.</summary>
    public TorchFileBuilder Pickle(byte[] pickle) => Record("data.pkl", pickle);

    /// <summary>Writes the zip.</summary>
    public void Write(string path)
    {
        using var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create);
        foreach ((string name, Action<Stream> write, bool deflate) in _records)
        {
            ZipArchiveEntry entry = zip.CreateEntry($"{Top}/{name}", deflate ? CompressionLevel.Fastest : CompressionLevel.NoCompression);
            using Stream stream = entry.Open();
            write(stream);
        }

        ZipArchiveEntry version = zip.CreateEntry($"{Top}/version", CompressionLevel.NoCompression);
        using (Stream v = version.Open())
        {
            v.Write("3\n"u8);
        }
    }

    /// <summary>A float32 tensor of a storage for the pickle: its storage key and element count, the view's offset and shape (contiguous strides).</summary>
    public sealed record Tensor(string Key, long StorageCount, long Offset, params long[] Shape);

    /// <summary>A pickle writer for the few opcodes torch.save uses.</summary>
    public sealed class PickleWriter
    {
        private readonly MemoryStream _out = new();

        public PickleWriter()
        {
            _out.Write([0x80, 2]);
        }

        public PickleWriter Raw(params byte[] bytes)
        {
            _out.Write(bytes);
            return this;
        }

        public PickleWriter Mark() => Raw((byte)'(');

        public PickleWriter EmptyDict() => Raw((byte)'}');

        public PickleWriter EmptyList() => Raw((byte)']');

        public PickleWriter SetItems() => Raw((byte)'u');

        public PickleWriter Appends() => Raw((byte)'e');

        public PickleWriter Tuple() => Raw((byte)'t');

        public PickleWriter Stop() => Raw((byte)'.');

        public PickleWriter String(string value)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(value);
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
            Raw((byte)'X');
            _out.Write(length);
            _out.Write(bytes);
            return this;
        }

        public PickleWriter Int(long value)
        {
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
            Raw(0x8a, 8); // LONG1 of 8 bytes
            _out.Write(bytes);
            return this;
        }

        public PickleWriter Float(double value)
        {
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteDoubleBigEndian(bytes, value);
            Raw((byte)'G');
            _out.Write(bytes);
            return this;
        }

        public PickleWriter Global(string module, string name)
        {
            Raw((byte)'c');
            _out.Write(Encoding.UTF8.GetBytes($"{module}\n{name}\n"));
            return this;
        }

        /// <summary>A tensor as torch.save pickles it: _rebuild_tensor_v2((storage pid), offset, shape, stride, False, OrderedDict()).</summary>
        public PickleWriter TensorValue(Tensor t)
        {
            Global("torch._utils", "_rebuild_tensor_v2").Mark();
            Mark().String("storage").Global("torch", "FloatStorage").String(t.Key).String("cpu").Int(t.StorageCount).Tuple().Raw((byte)'Q');
            Int(t.Offset);
            Mark();
            foreach (long d in t.Shape)
            {
                Int(d);
            }

            Tuple().Mark();
            long stride = 1;
            var strides = new long[t.Shape.Length];
            for (int i = t.Shape.Length - 1; i >= 0; i--)
            {
                strides[i] = stride;
                stride *= Math.Max(1, t.Shape[i]);
            }

            foreach (long s in strides)
            {
                Int(s);
            }

            Tuple().Raw(0x89).Global("collections", "OrderedDict").Raw((byte)')', (byte)'R').Tuple().Raw((byte)'R');
            return this;
        }

        /// <summary>A dict of name to tensor, left on the stack.</summary>
        public PickleWriter StateDict(IEnumerable<(string Name, Tensor Value)> tensors)
        {
            EmptyDict().Mark();
            foreach ((string name, Tensor value) in tensors)
            {
                String(name).TensorValue(value);
            }

            return SetItems();
        }

        public byte[] ToArray() => _out.ToArray();
    }

    /// <summary>The names and shapes of a New-LLM model's parameters, with one storage key each ("0", "1", ...).</summary>
    public static List<(string Name, Tensor Value)> ModelTensors(NewLlmOptions options)
    {
        using var model = new NewLlmModel(options);
        return model.state_dict().Select((kv, i) =>
        {
            long count = kv.Value.shape.Aggregate(1L, (a, b) => a * b);
            return (kv.Key, new Tensor(i.ToString(System.Globalization.CultureInfo.InvariantCulture), count, 0, kv.Value.shape));
        }).ToList();
    }
}
