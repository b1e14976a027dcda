namespace NewLlm.Core.Tests;

public class DecodingMeasurementTests
{
    [Fact]
    public void NewLlmsStateStaysTheSameSizeAndTheBaselinesCacheGrowsWithTheLength()
    {
        using var newLlm = new NewLlmModel(new NewLlmOptions { VocabSize = 50, EmbedDim = 16, HiddenDim = 32, ContextDim = 24, Seed = 1 });
        using var baseline = new TransformerBaselineModel(new TransformerBaselineOptions { VocabSize = 50, EmbedDim = 16, NumHeads = 2, HiddenDim = 32, NumLayers = 2, MaxSeqLength = 64, Seed = 1 });
        long[] Bytes(IIncrementalDecoder model, int batch) => new[] { 16, 32, 64 }.Select(length =>
        {
            using IDecodingState state = DecodingMeasurement.DecodeGreedily(model, batch, length);
            Assert.Equal(length, state.Length);
            return state.SizeInBytes;
        }).ToArray();

        long[] context = Bytes(newLlm, 3);
        Assert.All(context, b => Assert.Equal(3 * 24 * sizeof(float), b));

        // Keys and values of 2 layers, 16 floats each per position and sequence (the buffer doubles from 16 positions, so these lengths fill it).
        long[] cache = Bytes(baseline, 3);
        Assert.Equal(new long[] { 16, 32, 64 }.Select(length => 2L * 2 * 3 * length * 16 * sizeof(float)), cache);
        Assert.True(DecodingMeasurement.TokensPerSecond(baseline, 2, 16) > 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => DecodingMeasurement.TokensPerSecond(baseline, 2, 16, rounds: 0));
        Assert.Throws<InvalidOperationException>(() => DecodingMeasurement.DecodeGreedily(baseline, 1, 65));
    }
}
