using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NewLlm.Training.Tests;

/// <summary>The trainer's optimizers: bit for bit TorchSharp's Adam and AdamW, whatever the settings and the order of parameter sizes.</summary>
public sealed class InPlaceAdamTests
{
    public static TheoryData<bool, double, bool, bool> Settings => new()
    {
        { false, 0.0, false, false },
        { false, 0.01, false, false },
        { true, 0.0, false, false },
        { true, 0.05, false, false },
        { false, 0.01, true, false },
        { true, 0.01, true, false },
        { false, 0.0, false, true },
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void StepsAreBitForBitTorchSharpsOwn(bool decoupled, double weightDecay, bool amsGrad, bool maximize)
    {
        // Small parameters and one of 2.3 million elements (updated in three slices, each by several threads), one
        // of them without a gradient in some steps.
        long[][] shapes = [[3, 5], [2100, 1100], [7], [11, 13]];
        using var generator = new Generator(20261204);
        Parameter[] ours = [.. shapes.Select(s => new Parameter(randn(s, generator: generator)))];
        Parameter[] theirs = [.. ours.Select(p => new Parameter(p.detach().clone()))];
        using OptimizerHelper own = decoupled
            ? new InPlaceAdamW(ours, 1e-2, 0.9, 0.99, 1e-6, weightDecay, amsGrad)
            : new InPlaceAdam(ours, 1e-2, 0.9, 0.99, 1e-6, weightDecay, amsGrad);
        using OptimizerHelper stock = decoupled
            ? torch.optim.AdamW(theirs, 1e-2, 0.9, 0.99, 1e-6, weightDecay, amsGrad, maximize)
            : torch.optim.Adam(theirs, 1e-2, 0.9, 0.99, 1e-6, weightDecay, amsGrad, maximize);
        if (maximize)
        {
            foreach (var options in own.state_dict().Options)
            {
                if (options is Adam.Options adam)
                {
                    adam.maximize = true;
                }
                else if (options is AdamW.Options adamW)
                {
                    adamW.maximize = true;
                }
            }
        }

        for (int step = 0; step < 5; step++)
        {
            for (int i = 0; i < ours.Length; i++)
            {
                bool skipped = i == 2 && step % 2 == 1;
                Tensor gradient = randn(shapes[i], generator: generator).mul_(step + 1);
                ours[i].grad = skipped ? null : gradient.clone();
                theirs[i].grad = skipped ? null : gradient.clone();
            }

            own.step();
            stock.step();
        }

        for (int i = 0; i < ours.Length; i++)
        {
            Assert.True(Same(ours[i], theirs[i]), $"parameter {i} differs from TorchSharp's by up to {(ours[i] - theirs[i]).abs().max().item<float>()}");
            AdamMoments a = AdamMoments.Of(own.state_dict().State[i], "ours"), b = AdamMoments.Of(stock.state_dict().State[i], "stock");
            Assert.Equal(b.Step, a.Step);
            Assert.True(Same(a.ExpAvg, b.ExpAvg) && Same(a.ExpAvgSq, b.ExpAvgSq), $"parameter {i}'s moments differ");
            Assert.Equal(b.MaxExpAvgSq is null, a.MaxExpAvgSq is null);
            Assert.True(a.MaxExpAvgSq is null || Same(a.MaxExpAvgSq, b.MaxExpAvgSq!), $"parameter {i}'s AMSGrad maximum differs");
        }

        Assert.Equal(3, AdamMoments.Of(own.state_dict().State[2], "ours").Step);
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}
