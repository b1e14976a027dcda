using System.Buffers.Binary;
using System.Text;
using NewLlm.Tests;
using static NewLlm.Core.Tests.TorchFileBuilder;

namespace NewLlm.Core.Tests;

/// <summary>
/// Files made to hurt: PyTorch archives whose declared sizes lie or whose pickles are malformed, safetensors headers
/// that overflow, repeat or overlap. Each is refused with an <see cref="InvalidDataException"/> naming the file and
/// the tensor or record, before anything it declares is inflated.
/// </summary>
public sealed class HostileFileTests : IDisposable
{
    private static readonly NewLlmOptions Small = new() { VocabSize = 11, EmbedDim = 4, HiddenDim = 6, ContextDim = 3, NumLayers = 1 };
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void ATensorDeclaredHugeIsRefusedByItsShapeBeforeItsGigabyteOfZerosIsInflated()
    {
        const long huge = 1L << 28; // 1 GiB of float32 zeros, about a megabyte deflated
        List<(string Name, Tensor Value)> tensors = ModelTensors(Small);
        int bias = tensors.FindIndex(t => t.Name == "fnn_layers.0.bias");
        tensors[bias] = (tensors[bias].Name, new Tensor(tensors[bias].Value.Key, huge, 0, huge));
        string path = WriteStateDict("bomb.pt", tensors);

        using (var counting = new CountingStream(File.OpenRead(path)))
        {
            var error = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(counting, path));
            Assert.Contains(path, error.Message, StringComparison.Ordinal);
            Assert.Contains($"'fnn_layers.0.bias' has shape [{huge}]", error.Message, StringComparison.Ordinal);
            Assert.True(counting.BytesRead < new FileInfo(path).Length / 4, $"{counting.BytesRead} of {new FileInfo(path).Length} bytes read: the bomb's record was read");
        }

        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => NewLlmModel.FromPyTorch(path)).Message, StringComparison.Ordinal);
        using var model = new NewLlmModel(Small);
        Assert.Contains("fnn_layers.0.bias", Assert.Throws<InvalidDataException>(() => model.LoadPyTorch(path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnexpectedHugeTensorIsRefusedBeforeItIsRead()
    {
        const long huge = 1L << 27;
        List<(string Name, Tensor Value)> tensors = ModelTensors(Small);
        tensors.Add(("extra.weight", new Tensor("extra", huge, 0, huge)));
        string path = WriteStateDict("extra.pt", tensors);

        using var counting = new CountingStream(File.OpenRead(path));
        var error = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(counting, path));
        Assert.Contains("'extra.weight'", error.Message, StringComparison.Ordinal);
        Assert.Contains("not a parameter", error.Message, StringComparison.Ordinal);
        Assert.True(counting.BytesRead < new FileInfo(path).Length / 4, $"{counting.BytesRead} bytes read");
    }

    [Fact]
    public void AStorageRecordOfAnotherSizeThanItsStorageIsRefusedNamingTheTensorAndRecord()
    {
        List<(string Name, Tensor Value)> tensors = ModelTensors(Small);
        string path = WriteStateDict("sizes.pt", tensors, recordBytes: name => name == "context_norm.bias" ? 200 : null);
        var error = Assert.Throws<InvalidDataException>(() => NewLlmModel.FromPyTorch(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("context_norm.bias", error.Message, StringComparison.Ordinal);
        Assert.Contains("declares 200 bytes", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(10L, 66L, "tensor 'model_state_dict.token_output.weight' of shape [11, 6] at offset 10 lies past the end of its storage")]
    [InlineData(0L, 1000L, "uses at most 66 of the 1000")]    // a view of a storage much larger than it
    public void AViewThatDoesNotFitItsStorageIsRefused(long offset, long storageCount, string expected)
    {
        List<(string Name, Tensor Value)> tensors = ModelTensors(Small);
        int i = tensors.FindIndex(t => t.Name == "token_output.weight"); // [11, 6]: 66 elements
        tensors[i] = (tensors[i].Name, new Tensor(tensors[i].Value.Key, storageCount, offset, 11, 6));
        string path = WriteStateDict("view.pt", tensors);
        var error = Assert.Throws<InvalidDataException>(() => NewLlmModel.FromPyTorch(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, byte[]> MalformedPickles => new()
    {
        { "a stray SETITEMS", [0x80, 2, (byte)'(', (byte)'u', (byte)'.'] },
        { "an opcode torch.save never writes", [0x80, 2, 0xff, (byte)'.'] },
        { "a string longer than the pickle", [0x80, 2, (byte)'X', 0xff, 0xff, 0xff, 0x7f, (byte)'a', (byte)'.'] },
        { "an integer of a gigabyte", [0x80, 2, 0x8b, 0x00, 0x00, 0x00, 0x40, (byte)'.'] },
        { "a memo read before it is written", [0x80, 2, (byte)'h', 7, (byte)'.'] },
        { "no STOP", [0x80, 2, (byte)'}'] },
        { "a list that contains itself", [0x80, 2, (byte)']', (byte)'q', 0, (byte)'h', 0, (byte)'a', (byte)'.'] },
        { "two values left on the stack", [0x80, 2, (byte)'}', (byte)'}', (byte)'.'] },
        { "a storage that is not one", new PickleWriter().Mark().String("storage").String("x").Tuple().Raw((byte)'Q').Stop().ToArray() },
    };

    [Theory]
    [MemberData(nameof(MalformedPickles))]
    public void AMalformedPickleIsRefusedNamingTheFileAndItsDataPkl(string what, byte[] pickle)
    {
        string path = _temp.Combine("malformed.pt");
        new TorchFileBuilder().Pickle(pickle).Write(path);
        var error = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path));
        Assert.True(error.Message.Contains(path, StringComparison.Ordinal) && error.Message.Contains("data.pkl", StringComparison.Ordinal), $"{what}: {error.Message}");
    }

    [Fact]
    public void APickleNestedAHundredThousandDeepIsRefusedWithoutOverflowingTheStack()
    {
        const int depth = 100_000;
        var pickle = new List<byte> { 0x80, 2 };
        pickle.AddRange(Enumerable.Repeat((byte)']', depth));
        pickle.AddRange(Enumerable.Repeat((byte)'a', depth - 1));
        pickle.Add((byte)'.');
        string path = _temp.Combine("deep.pt");
        new TorchFileBuilder().Pickle([.. pickle]).Write(path);
        var error = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path));
        Assert.Contains("more than 100 deep", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APickleOfMillionsOfTinyValuesIsRefusedBeforeItsValuesFillTheMemory()
    {
        // Two bytes of pickle make a list: a few megabytes would make millions of them, gigabytes in memory.
        var pickle = new List<byte> { 0x80, 2, (byte)'(' };
        pickle.AddRange(Enumerable.Repeat((byte)']', PickleReader.MaxValues + 1));
        pickle.AddRange("l."u8.ToArray());
        string path = _temp.Combine("lists.pt");
        new TorchFileBuilder().Pickle([.. pickle]).Write(path);
        var error = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains($"more than {PickleReader.MaxValues} values", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACallOfAnyOtherGlobalIsNeverMadeAndSaidSo()
    {
        byte[] pickle = new PickleWriter().Global("os", "system").Mark().String("echo hacked > /tmp/newllm-hacked").Tuple().Raw((byte)'R').Stop().ToArray();
        string path = _temp.Combine("system.pt");
        new TorchFileBuilder().Pickle(pickle).Write(path);
        var error = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(path));
        Assert.Contains("a call of os.system (never made", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists("/tmp/newllm-hacked"));
    }

    [Fact]
    public void ACheckpointWhoseAdamMomentHasAnotherShapeIsRefusedBeforeTheMomentIsRead()
    {
        const long huge = 1L << 27;
        List<(string Name, Tensor Value)> model = ModelTensors(Small);
        var writer = new PickleWriter().EmptyDict().Mark().String("model_state_dict").StateDict(model);
        writer.String("optimizer_state_dict").EmptyDict().Mark().String("state").EmptyDict().Mark().Int(0).EmptyDict().Mark()
            .String("step").Float(3).String("exp_avg").TensorValue(new Tensor("m0", huge, 0, huge)).String("exp_avg_sq").TensorValue(new Tensor("v0", 44, 0, 11, 4))
            .SetItems().SetItems().String("param_groups").EmptyList().SetItems();
        byte[] pickle = writer.SetItems().Stop().ToArray();
        var builder = new TorchFileBuilder().Pickle(pickle);
        foreach ((_, Tensor t) in model)
        {
            builder.Record($"data/{t.Key}", new byte[t.StorageCount * 4]);
        }

        builder.Zeros("data/m0", huge * 4).Record("data/v0", new byte[44 * 4]);
        string path = _temp.Combine("adam.pt");
        builder.Write(path);

        using var counting = new CountingStream(File.OpenRead(path));
        var error = Assert.Throws<InvalidDataException>(() => PyTorchCheckpoint.Read(counting, path));
        Assert.Contains("parameter 0 (token_embedding.weight)", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'exp_avg' is a tensor of shape [{huge}]", error.Message, StringComparison.Ordinal);
        Assert.True(counting.BytesRead < new FileInfo(path).Length / 4, $"{counting.BytesRead} bytes read");
    }

    [Fact]
    public void AWellFormedHandWrittenStateDictReads()
    {
        // The builder's own files are right when nothing is wrong in them: the refusals above are the files' faults.
        string path = WriteStateDict("good.pt", ModelTensors(Small));
        using NewLlmModel model = NewLlmModel.FromPyTorch(path);
        Assert.Equal(Small.ParameterCount, model.parameters().Sum(p => p.numel()));
        Assert.False(model.training);
    }

    public static TheoryData<string, string, int, string> BadSafetensors => new()
    {
        { "overflow", "{\"a\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904, 4], \"data_offsets\": [0, 0]}}", 0, "overflows" },
        { "duplicate", "{\"a\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 2]}, \"a\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [2, 4]}}", 4, "'a' is in the header twice" },
        { "overlap", "{\"a\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [0, 4]}, \"b\": {\"dtype\": \"U8\", \"shape\": [4], \"data_offsets\": [2, 6]}}", 6, "overlap" },
        { "hole", "{\"a\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 2]}, \"b\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [4, 6]}}", 6, "belong to no tensor" },
        { "tail", "{\"a\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 2]}}", 6, "belongs to no tensor" },
    };

    [Theory]
    [MemberData(nameof(BadSafetensors))]
    public void ABadSafetensorsHeaderIsRefusedNamingTheFile(string name, string header, int dataBytes, string expected)
    {
        string path = _temp.Combine(name + ".safetensors");
        byte[] json = Encoding.UTF8.GetBytes(header);
        byte[] file = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        File.WriteAllBytes(path, file);
        var error = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Read(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    /// <summary>A flat state dict of the given tensors, each record zeros of its storage's size (or <paramref name="recordBytes"/>' size), the huge ones deflated.</summary>
    private string WriteStateDict(string name, List<(string Name, Tensor Value)> tensors, Func<string, int?>? recordBytes = null)
    {
        byte[] pickle = new PickleWriter().StateDict(tensors).Stop().ToArray();
        var builder = new TorchFileBuilder().Pickle(pickle);
        foreach ((string tensorName, Tensor t) in tensors)
        {
            long bytes = recordBytes?.Invoke(tensorName) ?? t.StorageCount * 4;
            if (bytes > 1 << 20)
            {
                builder.Zeros($"data/{t.Key}", bytes);
            }
            else
            {
                builder.Record($"data/{t.Key}", new byte[bytes]);
            }
        }

        string path = _temp.Combine(name);
        builder.Write(path);
        return path;
    }

    /// <summary>A read-only stream that counts the bytes read through it.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => inner.CanSeek;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => inner.Position = value; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = inner.Read(buffer, offset, count);
            BytesRead += n;
            return n;
        }

        public override int Read(Span<byte> buffer)
        {
            int n = inner.Read(buffer);
            BytesRead += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
