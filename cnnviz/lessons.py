"""The lessons: the tutorials this project grew from, as short sequences of steps over the app's pages.

One table, `LESSONS`, that the Lessons page, the banner on every instrument page, the links a teacher
shares and the tests all read: adding a lesson or a step is one entry. A step names the page it opens
and that page's settings as they travel in the URL (`{"kernel": "sobel x", "pool": "max"}`), so a step
opens exactly as written on any server, and a teacher's link can fix or hide chosen controls.

>>> lesson = LESSONS["by-hand"]
>>> lesson.steps[0].page
'lab'
>>> step_query("by-hand", 0)["lesson"]
'by-hand'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from cnnviz.errors import InvalidInput

# page key -> (script under pages/, URL path Streamlit gives it, title)
PAGES = {
    "lab": ("pages/convolution_lab.py", "convolution_lab", "Convolution lab"),
    "trainer": ("pages/trainer.py", "trainer", "Trainer"),
    "inside": ("pages/inside.py", "inside", "Inside the network"),
    "learned": ("pages/learned.py", "learned", "What did it learn?"),
    "predict": ("pages/predict.py", "predict", "Upload & predict"),
}

# Controls that only choose where to look (a pixel, a channel, a test picture), never what is computed:
# a teacher's "fix all but the step's focus" leaves them free, since reading the arithmetic of the
# pixel you pick is how every step is explored.
ALWAYS_FREE = ("row", "col", "trow", "tcol", "channel", "imgs", "image")

# URL names the lessons add on top of a page's own settings
LESSON_PARAM, STEP_PARAM, PROJECTOR_PARAM = "lesson", "step", "projector"
FIX_PARAM, HIDE_PARAM = "fix", "hide"


@dataclass(frozen=True)
class Step:
    """One step of a lesson: a few sentences, an instrument set up for them, something to try and a
    question that the instrument answers."""

    title: str
    page: str  # a key of PAGES
    settings: dict[str, str]  # the page's URL settings this step opens with (the rest keep defaults)
    text: str  # what the learner reads first (markdown, a few sentences)
    try_this: str  # what to do with the instrument
    question: str  # what the instrument answers
    answer: str  # shown on request, after the learner has looked
    focus: tuple[str, ...] = ()  # the settings this step is about: a teacher's link can lock the others


@dataclass(frozen=True)
class Lesson:
    """A lesson: its title, what it is about in a line, and its steps."""

    title: str
    summary: str
    minutes: int  # about how long a learner alone takes
    steps: tuple[Step, ...] = field(default_factory=tuple)


def _lab(**settings: str) -> dict[str, str]:
    # Every lab step starts from the same known state, whatever the learner had chosen before.
    base = {"src": "sample", "view": "one", "size": "512"}
    return {**base, **settings}


LESSONS: dict[str, Lesson] = {
    "by-hand": Lesson(
        "Convolution by hand",
        "A 3x3 kernel slides over a photo, one sum at a time; then 2x2 max pooling halves the picture.",
        15,
        (
            Step(
                "A kernel is nine numbers",
                "lab",
                _lab(sample="camera", colour="gray", kernel="tutorial horizontal", post="clip"),
                "A **kernel** is a small grid of numbers. Put it on the photo, multiply each pixel under it "
                "by the number on top of it, and add the nine products: that sum is **one** pixel of the "
                "output. Slide the kernel one pixel and do it again, everywhere. This kernel has -1 -2 -1 "
                "on top and 1 2 1 below, so it answers where the picture gets brighter from top to bottom.",
                "Click a bright pixel in the output, then a dark one. Read the nine products under each.",
                "Why is the output black over the sky, where the photo is bright?",
                "The kernel's numbers add up to 0. Over an even patch (bright or dark) the negative and "
                "positive products cancel out, so the sum is about 0: black. Only a change from top to "
                "bottom leaves something over.",
                focus=("kernel", "row", "col"),
            ),
            Step(
                "Three kernels, three pictures",
                "lab",
                _lab(sample="camera", colour="gray", kernel="tutorial vertical", post="clip"),
                "The tutorial tried three kernels on the same photo: one for horizontal lines (the last "
                "step), this one for vertical lines (the same numbers turned on their side), and an edge "
                "kernel with -4 in the middle, the **Laplacian**.",
                "Switch the kernel between *tutorial horizontal*, *tutorial vertical* and *tutorial "
                "laplacian*. Then choose *Every kernel side by side*.",
                "Which kernel draws the tripod's legs most brightly, and which the horizon behind him?",
                "The legs are nearly vertical lines: *tutorial vertical* lights them up. The horizon is "
                "a horizontal line: *tutorial horizontal*. The Laplacian answers to edges in every "
                "direction, but weakly, because it compares a pixel with its four neighbours only.",
                focus=("kernel", "view"),
            ),
            Step(
                "Weight and clipping",
                "lab",
                _lab(sample="camera", colour="gray", kernel="tutorial laplacian", post="clip", weight="2"),
                "The tutorial multiplied every sum by a **weight** and then **clipped** it to 0..255, the "
                "range a picture can show: a sum of -300 becomes 0 (black), 700 becomes 255 (white).",
                "Change the weight from 2 to 0.5 and then to 5. Switch the activation from *Clip to "
                "0..255* to *None (raw sums)* and look at the colour bar.",
                "What does a large weight do to the picture, and why do the raw sums need a colour bar?",
                "A large weight pushes more sums past 255, so more edges turn pure white (and detail is "
                "lost). Raw sums can be negative or far above 255: they are not a picture until you "
                "decide how to show them, which is what clipping (or the colour bar) does.",
                focus=("weight", "post"),
            ),
            Step(
                "2x2 max pooling halves the picture",
                "lab",
                _lab(sample="camera", colour="gray", kernel="tutorial vertical", post="clip", pad="same", pool="max"),
                "**Max pooling** cuts the output into 2x2 squares and keeps only the largest number of "
                "each. With SAME padding the convolution keeps the photo's 512x512, and pooling makes it "
                "256x256: a quarter of the pixels.",
                "Read the shapes under the pictures. Click a pixel of the pooled map and look at its four "
                "candidates. Then try *Average pooling*.",
                "The pooled picture has a quarter of the pixels. Are the vertical lines still there?",
                "Yes: a line that passes through a 2x2 square still makes that square's maximum large, so "
                "every line survives, only thinner in pixels. That is the point of pooling: keep the "
                "features, drop three quarters of the numbers the next layer has to handle.",
                focus=("pool",),
            ),
        ),
    ),
    "filters-pooling": Lesson(
        "Filters and pooling as a network sees them",
        "7x7 line filters on two photos, SAME against VALID padding, three kinds of pooling, and what pooling "
        "keeps when the picture moves.",
        15,
        (
            Step(
                "A vertical line filter",
                "lab",
                _lab(sample="china", colour="gray", kernel="vertical line 7x7", post="relu", pad="valid"),
                "A network's filters are often bigger than 3x3. This 7x7 filter has ones down its middle "
                "column and zeros elsewhere: it adds up seven pixels on top of each other, so it answers "
                "most where a bright line runs straight down.",
                "Look at the temple's pillars and the roof's edges. Switch to *horizontal line 7x7*.",
                "Which parts of the temple does each filter pick out?",
                "The vertical filter picks out the pillars and the upright edges; the horizontal one the "
                "eaves and steps. A network learns dozens of such filters on its own, each answering one "
                "direction or pattern.",
                focus=("kernel",),
            ),
            Step(
                "SAME against VALID",
                "lab",
                _lab(sample="flower", colour="gray", kernel="horizontal line 7x7", post="relu", pad="valid"),
                "With **VALID** padding the 7x7 filter only goes where it fits entirely inside the picture, "
                "so the output loses 3 pixels on every side: the 342x512 picture becomes 336x506. **SAME** pads the "
                "picture with zeros so the output keeps the input's size.",
                "Switch the padding between VALID and SAME and read the shapes and their formulas. Click a "
                "pixel at the very edge of the SAME output.",
                "Where does SAME get the numbers for the window at the edge?",
                "From zeros added around the picture. The window at the edge covers some of them, so edge "
                "pixels of a SAME output are computed from fewer real pixels.",
                focus=("pad",),
            ),
            Step(
                "Max, average, global",
                "lab",
                _lab(sample="flower", colour="gray", kernel="vertical line 7x7", post="relu", pool="max"),
                "Pooling summarises each 2x2 square: **max** keeps the strongest answer, **average** the "
                "mean. **Global average pooling** goes all the way: one number per map, the mean of the "
                "whole thing, which is how many networks end before their last Dense layer.",
                "Try max, then average pooling, and compare the two pictures. Then choose global average pooling.",
                "Why does max pooling look sharper than average pooling?",
                "A thin bright line covers only part of each 2x2 square. Max keeps its full strength; the "
                "average mixes it with the dark pixels beside it, so lines come out dimmer and blurred.",
                focus=("pool",),
            ),
            Step(
                "What pooling keeps when the picture moves",
                "lab",
                _lab(sample="flower", colour="gray", kernel="vertical line 7x7", post="relu", pool="max", dx="1"),
                "Move the picture a pixel to the right: every number of the convolution's output moves "
                "with it, so place by place most of them change. After max pooling more of them stay the "
                "same (on this photo about a third, against a fifth before pooling), because the "
                "strongest pixel is often still inside the same 2x2 square. This is the small "
                "*invariance* to shifts that pooling buys.",
                "Change the shift from 1 to 2 and to 3 pixels and watch how many pooled values stay the same.",
                "Why does a shift of 2 pixels change more pooled values than a shift of 1?",
                "A 2x2 window has two places for its maximum along each direction. One pixel of shift "
                "keeps many maxima in their square; two pixels move every maximum into the next square, "
                "so the pooled map itself moves by a whole pixel and, place by place, changes about as "
                "much as the convolution did. Pooling forgives small shifts, not large ones: deeper "
                "layers with more pooling forgive larger ones.",
                focus=("dx", "pool"),
            ),
        ),
    ),
    "why-convolution": Lesson(
        "Why convolution?",
        "A network of Dense layers only against a small CNN on the same digits: accuracy, parameters, and "
        "what happens when you train too long.",
        20,
        (
            Step(
                "A dense network and a CNN, side by side",
                "trainer",
                {
                    "dataset": "mnist-bundled",
                    "preset": "dense-only",
                    "vs": "mnist-cnn",
                    "epochs": "5",
                    "lr": "0.001",
                    "batch": "64",
                    "aug": "0",
                },
                "The first tutorial classified clothes with a network of **Dense** layers only: flatten "
                "the 28x28 picture into 784 numbers, one layer of 128, then 10 outputs. It knows nothing "
                "about which pixels are neighbours. A **CNN** (here the MNIST tutorial's) first slides "
                "small kernels over the picture, so the same edge detector works everywhere.",
                "Press **Train both** and watch the two curves. Then read the parameter counts in the results.",
                "Which network ends ahead, and which has more parameters?",
                "The CNN ends ahead with fewer parameters (on this server 96.8% against 93.0% on the "
                "test digits, with 93,322 parameters against 101,770). The dense network "
                "spends 100,480 of its weights on the first layer alone, one per pixel per unit; a 3x3 "
                "kernel is nine weights used at every position of the picture.",
                focus=("preset", "vs"),
            ),
            Step(
                "When the digit moves",
                "predict",
                {},
                "The dense network learned *this pixel matters for a 7*. Move the 7 and those pixels are "
                "empty. A CNN's kernels find the stroke wherever it is, and pooling forgives small "
                "shifts.",
                "Draw a digit small, near a corner. Read the preparation steps: the page centres the "
                "digit as MNIST did, because the shipped network expects that.",
                "Why does MNIST centre every digit before anyone trains on it?",
                "Because networks trained on centred digits (the dense ones most of all) expect the "
                "strokes in the same place. Centring does by hand what convolution and pooling do partly "
                "by design.",
            ),
            Step(
                "Training too long",
                "trainer",
                {
                    "dataset": "mnist-bundled",
                    "preset": "fashion-cnn",
                    "per_class": "50",
                    "epochs": "30",
                    "lr": "0.001",
                    "batch": "32",
                    "val": "0.2",
                    "aug": "0",
                },
                "Train long on few pictures (here 50 per class) and the network starts to remember the "
                "training pictures instead of learning digits: **overfitting**. Training accuracy keeps "
                "rising; validation accuracy stops, and the validation loss turns back up.",
                "Train and watch the two accuracy curves (and the two loss curves) as the epochs pass.",
                "At which epoch does validation part from training, and what would you do about it?",
                "Here the validation loss is lowest around epoch 9 and rises after it (0.42 then, 0.51 at "
                "epoch 30) while the training loss keeps going down. Stop there (early stopping), add "
                "dropout or augmentation, or get more pictures.",
                focus=("epochs", "per_class"),
            ),
        ),
    ),
    "inside": Lesson(
        "Inside a trained CNN",
        "The first layers' feature maps for three test digits, drawn as the tutorials drew them, and the "
        "filters the network learned next to the classic kernels.",
        10,
        (
            Step(
                "What the first layer sees",
                "inside",
                {"model": "default", "view": "maps", "layer": "conv1", "norm": "tutorial", "imgs": "0,1,2"},
                "Every channel of the first convolution is one learned kernel slid over the digit. Each "
                "small picture here is one channel's output, drawn as the tutorials did: "
                "`(x - mean) / std * 64 + 128`, so every channel shows its pattern at the same contrast.",
                "Click a channel to enlarge it. Find one that lights up the left edges of the strokes, "
                "and one that lights up the top edges.",
                "Do the same channels light up the same kind of edge in all three digits?",
                "Yes: a channel is one kernel, and a kernel answers to the same pattern wherever and in "
                "whichever digit it appears. That is why a few dozen channels are enough for ten digits.",
                focus=("layer",),
            ),
            Step(
                "Deeper layers",
                "inside",
                {"model": "default", "view": "maps", "layer": "conv2", "norm": "tutorial", "imgs": "0,1,2"},
                "The second convolution looks at the first layer's maps, not at the pixels. Its maps are "
                "smaller (pooling came before) and its patterns are combinations: corners, loops, ends of "
                "strokes.",
                "Compare a few channels of conv2 with those of conv1. Switch the brightness to *signed*.",
                "Why are the maps of conv2 smaller and blurrier than those of conv1?",
                "Pooling halved the maps between the two layers, so each conv2 pixel stands for a larger "
                "patch of the digit: it sees more but less precisely.",
                focus=("layer", "norm"),
            ),
            Step(
                "Learned filters and classic kernels",
                "inside",
                {"model": "default", "view": "filters"},
                "Training chose the first layer's 3x3 kernels. Next to each is the classic kernel from "
                "the lab that it looks most like.",
                "Find a learned filter that resembles Sobel or Prewitt. Then open the Convolution lab "
                "and try that classic kernel on a digit.",
                "Did the network reinvent edge detectors?",
                "Many of its filters are close to edge detectors in some direction: nobody told it to, "
                "but edges are what tell digits apart.",
            ),
        ),
    ),
    "real-photos": Lesson(
        "Real photos",
        "Pictures in class folders, and augmentation against overfitting when there are only a few hundred.",
        20,
        (
            Step(
                "Class folders",
                "trainer",
                {"dataset": "horses-humans"},
                "The tutorials trained on photos sorted into one folder per class: `horses/`, `humans/` "
                "(or `cats/`, `dogs/`). The folder name is the label. The Trainer reads the same layout "
                "from a zip, and downloads the tutorials' sets when this server is online.",
                "Open the dataset and look at the class counts and samples. Offline, choose *Synthetic "
                "shapes* or zip your own folders.",
                "Why must every class have roughly as many pictures as the others?",
                "A network that sees nine horses for every human can score 90% by always saying "
                "'horse'. Balanced classes make accuracy mean something.",
                focus=("dataset",),
            ),
            Step(
                "Without augmentation",
                "trainer",
                {
                    "dataset": "shapes",
                    "per_class": "100",
                    "preset": "horses-humans",
                    "epochs": "20",
                    "lr": "0.001",
                    "batch": "32",
                    "aug": "0",
                },
                "With only a few hundred pictures (here 100 shapes per class, the tutorials' network "
                "for horses and humans), a network soon memorises them: the training accuracy climbs "
                "while the validation accuracy stays behind.",
                "Train and watch the gap between the training and validation curves (about a minute).",
                "How big is the gap at the end?",
                "Large (on this server about 93% training against 68% validation): the network has "
                "learned the training pictures, not the classes. The next step gives it more varied "
                "pictures without collecting new ones.",
                focus=("aug",),
            ),
            Step(
                "With augmentation",
                "trainer",
                {
                    "dataset": "shapes",
                    "per_class": "100",
                    "preset": "horses-humans",
                    "epochs": "20",
                    "lr": "0.001",
                    "batch": "32",
                    "aug": "1",
                },
                "**Augmentation** shows the network each picture a little changed every epoch: turned, "
                "shifted, zoomed, mirrored. It cannot memorise pictures it never sees twice the same.",
                "Look at the augmentation preview, then train and compare with the last run.",
                "Is the gap between training and validation smaller now?",
                "Yes: training accuracy rises more slowly (the task is harder) but validation follows it "
                "(here both about 75%, and the test shapes 68% against 64% without). Augmentation trades "
                "a little training speed for a network that generalises.",
                focus=("aug",),
            ),
        ),
    ),
    "transfer": Lesson(
        "Transfer learning",
        "Reuse a trained network's convolutional base for a new task with few pictures: freeze it, train a new "
        "head, then fine-tune its top block.",
        20,
        (
            Step(
                "A frozen base against a fresh start",
                "trainer",
                {
                    "dataset": "shapes",
                    "base": "shipped",
                    "per_class": "30",
                    "vs": "mnist-fast",
                    "epochs": "20",
                    "lr": "0.003",
                    "batch": "16",
                },
                "The shipped network learned strokes, corners and curves from 8,000 digits. Keep its "
                "convolutional layers with their weights (**frozen**: training does not change them), put "
                "a new Dense head on top, and train only the head on a new task: shapes, with 30 pictures "
                "per class. Beside it, the same kind of network starts from random weights on the same "
                "30 pictures.",
                "Press **Train both**. While they train, read which layers learn in the table of the base.",
                "Which run ends ahead, and how many of its parameters did the transferred run train?",
                "The transferred run, by far (on this server 73% against 50% on the test shapes). It "
                "trained only its new head: the base's convolutions kept what they learned on digits, so "
                "30 pictures per class were enough for the head, while the fresh network had to learn its "
                "edge detectors from those few pictures too.",
                focus=("base", "from", "vs"),
            ),
            Step(
                "Fine-tuning the top block",
                "trainer",
                {
                    "dataset": "shapes",
                    "base": "run:last",
                    "from": "conv2",
                    "per_class": "30",
                    "epochs": "10",
                    "lr": "0.0003",
                    "batch": "16",
                },
                "Once the new head is trained, **unfreeze** the top of the base (from conv2 on) and train "
                "it a little too, with a learning rate ten times lower, starting from the run you just "
                "trained.",
                "Train, then compare this run with the frozen one under *Compare runs*.",
                "Did fine-tuning help, and why the low learning rate?",
                "A little (here about 4 points, to 77%). A large step would wreck the features the base "
                "brought with it; small steps adapt them to shapes. Fine-tune after the head is trained: "
                "a random head would send large, random corrections into the base.",
                focus=("from", "lr"),
            ),
        ),
    ),
    "why-this-answer": Lesson(
        "Why this answer?",
        "Heatmaps of the pixels that made a network decide, for the class it chose and for the others.",
        10,
        (
            Step(
                "Where the network looked",
                "inside",
                {"model": "default", "view": "heatmaps", "imgs": "0"},
                "A **heatmap** (Grad-CAM: Selvaraju et al., 2017) colours the places that raised the score "
                "of a class: red is strong evidence, blue none. It is computed from the last convolution's "
                "maps and how much each one matters for that class.",
                "Look at where the heat sits on the digit. Change the class to another digit.",
                "When you ask 'why a 3?' of a 7, where does the heat go?",
                "To the few strokes a 3 and a 7 share, or nowhere: there is little evidence for a 3, so "
                "the map is weak or flat.",
                focus=("class",),
            ),
            Step(
                "A coarser or finer layer",
                "inside",
                {"model": "default", "view": "heatmaps", "imgs": "0", "camlayer": "conv1"},
                "The heatmap is only as sharp as the layer it comes from. The first convolution's maps are "
                "26x26; the last one's are 11x11 and know more about classes.",
                "Switch the layer between conv1 and conv2 and compare the methods.",
                "Which layer gives a sharper map, and which a more meaningful one?",
                "conv1 is sharper but answers to any edge; conv2 is coarser but its channels stand for "
                "parts of digits, so its heat follows what decides the class.",
                focus=("camlayer",),
            ),
            Step(
                "On a photo",
                "predict",
                {},
                "On a photo and an ImageNet network (when this server has its weights) the heatmap shows "
                "which part of the scene made it say 'tabby cat' or 'espresso'.",
                "Choose an ImageNet model and the cat photo, or upload your own. Offline, the page says "
                "how to get the weights.",
                "Does the heat sit on the cat's face or on the background?",
                "Mostly on the face and fur: the network uses the object. When the heat sits on the "
                "background, the network may have learned a shortcut from its training pictures.",
            ),
        ),
    ),
    "transposed": Lesson(
        "Transposed convolution",
        "Upsampling a small map with a stride-2 transposed convolution, shown as zeros put between the pixels "
        "and a flipped kernel.",
        10,
        (
            Step(
                "Making a map bigger",
                "lab",
                _lab(op="transpose", kernel="box blur", tstride="2", pad="valid"),
                "Networks that draw pictures (or segment them) must make small maps big again. A "
                "**transposed convolution** with stride 2 does it in two steps: put a zero between every "
                "two pixels of the map, then convolve with the kernel turned upside down.",
                "Read the stages: the small map, the map with zeros inserted, the flipped kernel, the "
                "output. Check the output size against the formula.",
                "A 4x4 map, a 3x3 kernel, stride 2, VALID: how big is the output?",
                "(4 - 1) * 2 + 3 = 9, so 9x9. With SAME padding it is 4 * 2 = 8.",
                focus=("tstride", "pad"),
            ),
            Step(
                "The same as TensorFlow's",
                "lab",
                _lab(op="transpose", kernel="sobel x", tstride="2", pad="same"),
                "TensorFlow computes `conv2d_transpose` differently (every input pixel stamps the kernel, "
                "scaled, onto the output), but the result is the same numbers. The page checks it.",
                "Change the stride to 3 and the kernel to Sobel y; the difference stays 0.",
                "Why must the kernel be flipped in the zero-insertion version?",
                "Convolution as networks compute it slides the kernel without flipping; stamping the "
                "kernel from each input pixel is the mirror image of that. Flipping turns one into the "
                "other.",
                focus=("tstride", "kernel"),
            ),
        ),
    ),
    "what-it-learned": Lesson(
        "What did it learn?",
        "What one unit of a trained network can see, what excites it, what it needs, how it sorts the test "
        "set, and how a tiny change fools it.",
        20,
        (
            Step(
                "What one unit can see",
                "learned",
                {"view": "receptive", "layer": "conv2"},
                "A unit of the second convolution never sees the whole digit. It looks at 3x3 values of "
                "the pooled first layer, each of which looked at a few pixels: its **receptive field** is "
                "the window of the input that can change it at all.",
                "Click a few units of conv2's map and watch the window move over the digit. Read the "
                "table of sizes and jumps.",
                "How big is a conv2 unit's window, and do all its pixels count the same?",
                "8x8 pixels, moving 2 pixels from one unit to the next (pooling doubled the step). They "
                "do not count the same: the effective field beside it shows which pixels moved this unit "
                "for this digit, only some of them (a ReLU that is off passes nothing back). Over many "
                "pictures the middle of the window counts most and its edges barely at all (Luo et al., "
                "2016).",
                focus=("layer", "row", "col"),
            ),
            Step(
                "What excites a channel",
                "learned",
                {"view": "featurevis", "fv_layer": "conv2", "channel": "0"},
                "Start from noise and change the picture, step by step, to make one channel answer as "
                "strongly as it can (gradient ascent). The picture you end with is what that channel "
                "looks for; the test digits beside it are the ones that excite it most.",
                "Compute the grid for the whole layer, then compare a channel's picture with its top test patches.",
                "Do the pictures look like digits?",
                "No: a conv2 channel sees only 8x8 pixels, so its favourite input is a piece of stroke "
                "(an edge at an angle, the end of a line, a bend) repeated wherever a unit sits. Digits "
                "are put together from such pieces by the layers after it.",
                focus=("fv_layer", "channel"),
            ),
            Step(
                "What it needs to see",
                "learned",
                {"view": "occlusion"},
                "Cover a square of the digit with grey and ask again: if the probability of the class "
                "drops, the network needed that place (Zeiler and Fergus, 2014). No gradients, just "
                "many predictions.",
                "Change the patch size and compare the map with Grad-CAM beside it. Try another test digit.",
                "Which part of the digit, covered, makes the network doubt most?",
                "The strokes that tell this digit from its look-alikes: the crossing of a 4, the top "
                "bar of a 7. Covering the empty background changes almost nothing.",
                focus=("patch", "stride"),
            ),
            Step(
                "How it sorts the test set",
                "learned",
                {"view": "embedding"},
                "Take the numbers the network computes just before its last layer, for every test "
                "picture, and flatten them onto a page (PCA). Pictures the network finds alike land "
                "close together. For your own run, the epoch slider shows the groups forming.",
                "Look for the classes that overlap, and for the marked mistakes. Train a run in the "
                "Trainer and come back to move through its epochs.",
                "Which classes lie close together, and where are the mistakes?",
                "Look-alike digits lie close (often 4 and 9, or 3, 5 and 8), and the mistakes sit at "
                "the edges between groups, where the network was torn between two classes.",
                focus=("proj",),
            ),
            Step(
                "Fooling it",
                "learned",
                {"view": "adversarial", "eps": "25"},
                "Change every pixel a little, each in the direction that lowers the score of the right "
                "class (the fast gradient sign method, Goodfellow et al., 2015). The change is small and "
                "looks like noise to us, yet it is aimed exactly where the network is sensitive.",
                "Raise epsilon until the prediction changes. Then try the targeted attack towards a class you choose.",
                "Why does a change you can barely see fool the network, and what does that say about trusting it?",
                "A network adds up thousands of small contributions; nudging each one slightly in the "
                "worst direction adds up to a large change of the score. It sees different things in a "
                "picture than we do, so a confident answer is not proof that it understood.",
                focus=("eps", "method", "target"),
            ),
        ),
    ),
}


def lesson(lesson_id: str) -> Lesson:
    """The lesson with this id, or InvalidInput naming the lessons there are."""
    if lesson_id not in LESSONS:
        raise InvalidInput(f"No lesson {lesson_id!r}; the lessons are: {', '.join(LESSONS)}.")
    return LESSONS[lesson_id]


def step(lesson_id: str, index: int) -> Step:
    """Step `index` (0-based) of a lesson, or InvalidInput saying how many steps it has."""
    steps = lesson(lesson_id).steps
    if not 0 <= index < len(steps):
        raise InvalidInput(f"Lesson {lesson_id!r} has steps 1 to {len(steps)}; there is no step {index + 1}.")
    return steps[index]


def step_query(
    lesson_id: str,
    index: int,
    *,
    fixed: tuple[str, ...] = (),
    hidden: tuple[str, ...] = (),
    projector: bool = False,
) -> dict[str, str]:
    """The URL query that opens a step exactly as set: the lesson, the step (1-based in the URL), the
    step's settings, and a teacher's locks (`fixed` shown read-only, `hidden` not drawn)."""
    chosen = step(lesson_id, index)
    query = {LESSON_PARAM: lesson_id, STEP_PARAM: str(index + 1), **chosen.settings}
    if fixed:
        query[FIX_PARAM] = ",".join(fixed)
    if hidden:
        query[HIDE_PARAM] = ",".join(hidden)
    if projector:
        query[PROJECTOR_PARAM] = "1"
    return query


def step_link(lesson_id: str, index: int, **locks) -> str:
    """The step's link relative to the app's address: `convolution_lab?lesson=by-hand&step=1&...`."""
    chosen = step(lesson_id, index)
    return f"{PAGES[chosen.page][1]}?{urlencode(step_query(lesson_id, index, **locks))}"


def parse_position(lesson_id: str | None, step_text: str | None) -> tuple[str, int] | None:
    """(lesson id, 0-based step) from the URL's text, or None when the URL names no valid step."""
    if not lesson_id or lesson_id not in LESSONS or not step_text:
        return None
    try:
        index = int(step_text) - 1
    except ValueError:
        return None
    return (lesson_id, index) if 0 <= index < len(LESSONS[lesson_id].steps) else None
