namespace NewLlm.Training.Tests;

/// <summary><see cref="FreezeBaseContextDimensions"/> through the trainer (fused CPU path, gradient accumulation): the base blocks do not move, everything else does.</summary>
public class FreezeBaseContextTests
{
    private static readonly string[] RowBlocks = ["context_update.weight", "context_update.bias", "forget_gate.weight", "forget_gate.bias", "input_gate.weight", "input_gate.bias", "context_norm.weight", "context_norm.bias"];

    [Fact]
    public async Task TheFrozenBlocksStayBitIdenticalAndEveryOtherParameterChanges()
    {
        using var setup = new TinySetup();
        using NewLlmModel trained = setup.CreateModel();
        NewLlmModel model = trained.ExpandContext(12); // context 8 -> 12, the original's rule
        var before = TinySetup.Weights(model);
        var options = setup.Options(2, output: false);
        options.GradientAccumulationSteps = 2;
        using (Trainer trainer = setup.CreateTrainer(model, options, new FreezeBaseContextDimensions(8)))
        {
            await trainer.TrainAsync();
        }

        var after = TinySetup.Weights(model);
        const int E = 8, C = 8, Wide = 12, H = 16;
        foreach (string name in after.Keys)
        {
            float[] old = before[name], now = after[name];
            bool[] frozen = new bool[old.Length];
            if (RowBlocks.Contains(name))
            {
                int columns = old.Length / Wide; // rows are context dimensions
                for (int i = 0; i < C * columns; i++)
                {
                    frozen[i] = true;
                }
            }
            else if (name == "fnn_layers.0.weight")
            {
                for (int row = 0; row < H; row++)
                {
                    for (int column = E; column < E + C; column++)
                    {
                        frozen[(row * (E + Wide)) + column] = true;
                    }
                }
            }

            Assert.True(Enumerable.Range(0, old.Length).Where(i => frozen[i]).All(i => BitConverter.SingleToInt32Bits(old[i]) == BitConverter.SingleToInt32Bits(now[i])), $"{name}: the frozen part moved");
            Assert.True(Enumerable.Range(0, old.Length).Any(i => !frozen[i] && old[i] != now[i]), $"{name}: the part that trains did not change");
        }

        model.Dispose();
    }

    [Fact]
    public async Task AModelThatWasNotWidenedIsRefused()
    {
        using var setup = new TinySetup();
        using NewLlmModel model = setup.CreateModel();
        using Trainer trainer = setup.CreateTrainer(model, setup.Options(1, output: false), new FreezeBaseContextDimensions(8));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => trainer.TrainAsync());
        Assert.Contains("not more than the 8 to freeze", error.Message, StringComparison.Ordinal);
    }
}
