using NewLlm.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace NewLlm.Training.Tests;

/// <summary>The second context step of the progression through the trainer: 256 → 512 → 1024 with the base frozen at each step, and the 1024-wide (and deeper) model through the trainer's checkpoint.</summary>
public class ContextProgressionTrainingTests
{
    [Fact]
    public async Task A1024ContextModelTrainsFrozenAt512AndComesBackFromItsCheckpointAsItWas()
    {
        using var setup = new TinySetup();
        TorchBackend.EnsureLoaded();
        torch.random.manual_seed(1);
        var sizes = setup.ModelOptions;
        sizes.ContextDim = 256;
        using var start = new NewLlmModel(sizes);
        using NewLlmModel wide = start.ExpandContext(512, ContextExpansion.Replicate);
        using (Trainer trainer = setup.CreateTrainer(wide, setup.Options(1, output: false), new FreezeBaseContextDimensions(256)))
        {
            await trainer.TrainAsync();
        }

        using NewLlmModel wider = wide.ExpandContext(1024, ContextExpansion.Replicate);
        using NewLlmModel model = wider.AddLayers(2);
        var before = TinySetup.Weights(model);
        TrainerOptions options = setup.Options(1);
        using (Trainer trainer = setup.CreateTrainer(model, options, new FreezeBaseContextDimensions(512)))
        {
            await trainer.TrainAsync();
        }

        var after = TinySetup.Weights(model);
        foreach (string name in new[] { "context_update.weight", "forget_gate.bias", "context_norm.weight" })
        {
            int columns = before[name].Length / 1024;
            Assert.True(before[name].AsSpan(0, 512 * columns).SequenceEqual(after[name].AsSpan(0, 512 * columns)), $"{name}: the 512 base dimensions stayed");
            Assert.False(before[name].AsSpan(512 * columns).SequenceEqual(after[name].AsSpan(512 * columns)), $"{name}: the new dimensions trained");
        }

        string final = Path.Combine(setup.Directory, "tiny_final.pt");
        Assert.Equal((1024, 2), (CheckpointFile.ReadManifest(final).ModelOptions!.ContextDim, CheckpointFile.ReadManifest(final).ModelOptions!.NumLayers));
        using NewLlmModel loaded = (NewLlmModel)CheckpointFile.LoadModel(final);
        model.eval();
        var batch = setup.Validation.GetBatches(4, shuffle: false, random: null).First();
        using Tensor ids = tensor(batch.Inputs, dtype: ScalarType.Int64).view(batch.BatchSize, batch.SequenceLength);
        using var noGrad = no_grad();
        using Tensor expected = model.call(ids), logits = loaded.call(ids);
        Assert.Equal(0f, (logits - expected).abs().max().item<float>());
    }
}
